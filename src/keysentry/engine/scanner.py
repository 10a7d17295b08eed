"""Turns streams of bytes into findings: windows, positions, snippets, suppressions.

The detector says where keys are; this module says where that is in a file
(line and column, across windows of a stream far larger than memory) and
applies what the user asked to suppress.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, BinaryIO

from keysentry import exposure
from keysentry.config import Config
from keysentry.engine import attribution
from keysentry.engine import layers as decoding
from keysentry.engine.detector import (
    KEY_LENGTH,
    KEY_PATTERN,
    LOOKAHEAD,
    LOOKBEHIND,
    Candidate,
    find_candidates,
)
from keysentry.model.finding import Finding, fingerprint, redact_text
from keysentry.model.report import Report
from keysentry.model.text import escape_text

WINDOW = 8 * 1024 * 1024
# a key that straddles a window is seen whole, plain or encoded (\u{73}\u{6b}...)
OVERLAP = max(KEY_LENGTH + LOOKAHEAD + 28, decoding.MAX_ENCODED)
SNIPPET_RADIUS = 40
PRAGMA_RADIUS = 1024
CONTEXT = max(4 * PRAGMA_RADIUS, LOOKBEHIND)  # kept before a window: a key's line and the one above
ALLOW_MARKERS = (b"keysentry: allow", b"pragma: allowlist secret")
ALLOW_NEXT_LINE_MARKERS = (b"keysentry: allow-next-line", b"pragma: allowlist nextline secret")
_UTF8_CONTINUATION = bytes(range(0x80, 0xC0))


def _chars(data: bytes) -> int:
    """How many characters UTF-8 bytes hold (continuation bytes do not count)."""
    if data.isascii():
        return len(data)
    return len(data.translate(None, _UTF8_CONTINUATION))


@dataclass
class Window:
    """A slice of a stream held in memory, and where it sits in the whole."""

    data: bytes
    offset: int  # of data[0] in the stream
    line: int  # line number of data[0]
    column_chars: int  # characters between the start of that line and data[0]
    accept_from: int  # keys starting before this were reported by the previous window
    accept_to: int  # keys starting here or later are left to the next window


def windows(stream: BinaryIO, size: int = WINDOW) -> Iterator[Window]:
    """Overlapping windows over a stream, in bounded memory.

    One block is read ahead, so the last window of a stream still holds the
    CONTEXT bytes before its keys (their line, allow comments, provider hints)
    and a stream that fits one block is one window.
    """
    data = stream.read(size)
    pending = stream.read(size) if data else b""
    offset, line, column_chars, accept_from = 0, 1, 0, 0
    while True:
        eof = not pending
        accept_to = len(data) if eof else max(accept_from, len(data) - OVERLAP)
        yield Window(data, offset, line, column_chars, accept_from, accept_to)
        if eof:
            return
        cut = max(0, accept_to - CONTEXT)
        newline = data.rfind(b"\n", 0, cut)
        line += data.count(b"\n", 0, cut)
        column_chars = _chars(data[newline + 1 : cut]) + (column_chars if newline < 0 else 0)
        data, offset, accept_from = data[cut:] + pending, offset + cut, accept_to - cut
        pending = stream.read(size)


def _line_bounds(data: bytes, start: int, end: int) -> tuple[int, int]:
    lo = data.rfind(b"\n", max(0, start - PRAGMA_RADIUS), start) + 1
    if lo == 0:
        lo = max(0, start - PRAGMA_RADIUS)
    hi = data.find(b"\n", end, end + PRAGMA_RADIUS)
    return lo, (min(len(data), end + PRAGMA_RADIUS) if hi < 0 else hi)


def is_allowed_inline(data: bytes, start: int, end: int) -> bool:
    """An allow comment on the key's line, or an allow-next-line on the line above."""
    lo, hi = _line_bounds(data, start, end)
    line = data[lo:hi]
    if any(marker in line for marker in ALLOW_MARKERS):
        return True
    if lo == 0:
        return False
    above = data[max(0, lo - 1 - PRAGMA_RADIUS) : lo - 1]
    above = above[above.rfind(b"\n") + 1 :]
    return any(marker in above for marker in ALLOW_NEXT_LINE_MARKERS)


def snippet(data: bytes, start: int, end: int) -> str:
    """A short piece of the key's line with every key in it redacted."""
    lo, hi = _line_bounds(data, start, end)
    lo, hi = max(lo, start - SNIPPET_RADIUS), min(hi, end + SNIPPET_RADIUS)
    # a neighbouring key cut by an edge would escape redaction: keep it whole
    for other in KEY_PATTERN.finditer(data, max(0, lo - KEY_LENGTH), hi + KEY_LENGTH):
        if other.start() < lo < other.end():
            lo = other.start()
        if other.start() < hi < other.end():
            hi = other.end()
    text = data[lo:hi].decode("utf-8", "replace").strip()
    return escape_text(redact_text(text))


@dataclass
class Scanner:
    """Scans streams and bytes for keys, adding findings and counts to a report."""

    config: Config
    report: Report = field(default_factory=Report)

    @cached_property
    def judge(self) -> exposure.Judge:
        """Exposure verdicts for this scan (folder lookups cached across files)."""
        return exposure.Judge(self.config)

    def scan_bytes(
        self, data: bytes, path: str, source: str = "file", extra: dict[str, Any] | None = None
    ) -> list[Finding]:
        return self.scan_stream(io.BytesIO(data), path, source, extra)

    def scan_stream(
        self,
        stream: BinaryIO,
        path: str,
        source: str = "file",
        extra: dict[str, Any] | None = None,
        fs_path: str | bytes | None = None,  # the file on disk, for exposure's folder lookups
    ) -> list[Finding]:
        if self.config.decode:  # containers, source maps, encoded keys: decoding.py
            return decoding.scan(self, stream, path, source, extra, fs_path)
        return self.scan_windows(stream, path, source, extra, fs_path)

    def scan_windows(
        self,
        stream: BinaryIO,
        path: str,
        source: str = "file",
        extra: dict[str, Any] | None = None,
        fs_path: str | bytes | None = None,
    ) -> list[Finding]:
        """The stream's bytes as they are: plain keys, and encoded ones when decoding is on."""
        found: list[Finding] = []
        size = 0
        for window in windows(stream):
            size = window.offset + len(window.data)
            candidates = find_candidates(window.data, window.accept_from, window.accept_to)
            if candidates:
                found.extend(self._findings(window, candidates, path, source, extra, fs_path))
            if self.config.decode:
                found.extend(decoding.window_findings(self, window, path, source, extra, fs_path))
        self.report.stats["bytes_scanned"] += size
        self.report.findings.extend(found)
        return found

    def _findings(
        self,
        window: Window,
        candidates: list[Candidate],
        path: str,
        source: str,
        extra: dict[str, Any] | None,
        fs_path: str | bytes | None = None,
    ) -> Iterator[Finding]:
        data = window.data
        hints = attribution.find_hints(data)
        line, counted_to = window.line, 0
        for cand in candidates:
            line += data.count(b"\n", counted_to, cand.start)
            counted_to = cand.start
            if is_allowed_inline(data, cand.start, cand.end):
                self.report.stats["suppressed_inline"] += 1
                continue
            if self.config.is_allowed(fingerprint(cand.key)):
                self.report.stats["suppressed_allowlist"] += 1
                continue
            newline = data.rfind(b"\n", 0, cand.start)
            column = _chars(data[newline + 1 : cand.start]) + 1
            if newline < 0:
                column += window.column_chars
            who = attribution.attribute(data, cand.start, cand.end, hints)
            seen = self.judge.assess(path, data, cand.start, cand.end, fs_path)
            yield Finding(
                secret=cand.key,
                path=path,
                line=line,
                column=column,
                provider=who.provider,
                confidence=who.confidence,
                provider_evidence=who.evidence,
                snippet=snippet(data, cand.start, cand.end),
                source=source,
                offset=window.offset + cand.start,
                exposure=seen.verdict,
                exposure_evidence=list(seen.evidence),
                severity=exposure.severity(seen.verdict, who.confidence, who.provider),
                extra=dict(extra or {}),
            )
