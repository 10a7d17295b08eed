"""A one-line progress display on stderr: objects done/total, MB/s, findings so far.

Shown only when asked for (the CLI asks when stderr is a terminal and --quiet is
not given); otherwise every call is a cheap no-op and nothing is written.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

INTERVAL = 0.2  # seconds between redraws


class Progress:
    def __init__(self, enabled: bool, total: int = 0, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.total = total
        self._stream = stream if stream is not None else sys.stderr
        self._started = time.monotonic()
        self._shown_at = 0.0
        self._width = 0

    def update(self, done: int, nbytes: int, findings: int, force: bool = False) -> None:
        if not self.enabled:
            return
        elapsed = max(time.monotonic() - self._started, 1e-6)
        total = f"/{max(self.total, done):,}" if self.total else ""
        self.show(
            f"keysentry: objects {done:,}{total}  {nbytes / elapsed / 1e6:,.1f} MB/s"
            f"  findings {findings}",
            force,
        )

    def show(self, line: str, force: bool = False) -> None:
        """Redraw the line, at most every INTERVAL seconds unless forced."""
        now = time.monotonic()
        if not self.enabled or (not force and now - self._shown_at < INTERVAL):
            return
        self._shown_at = now
        self._stream.write("\r" + line.ljust(self._width))
        self._width = len(line)
        self._stream.flush()

    def close(self) -> None:
        if self.enabled and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
