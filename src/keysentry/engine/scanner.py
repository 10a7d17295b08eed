"""The scanner every source uses: a stream and every layer inside it, into findings."""

from __future__ import annotations

import io
from typing import BinaryIO

from keysentry.engine import layers
from keysentry.engine.window_scanner import WindowScanner
from keysentry.model.finding import Finding
from keysentry.model.target import ScanTarget


class Scanner(WindowScanner):
    """Scans streams and bytes for keys: with decoding on (the default), containers,
    documents and embedded payloads are opened first (engine/layers.py)."""

    def scan_bytes(self, data: bytes, target: ScanTarget) -> list[Finding]:
        return self.scan_stream(io.BytesIO(data), target)

    def scan_stream(self, stream: BinaryIO, target: ScanTarget) -> list[Finding]:
        if self.config.decode:
            return layers.scan(self, stream, target)
        return self.scan_windows(stream, target)
