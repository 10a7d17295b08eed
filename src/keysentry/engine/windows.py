"""Windows over a stream and positions in it: line and column, snippets, allow comments.

A stream far larger than memory is read in overlapping windows; each key is reported by
exactly one window, at its line and column in the whole stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from keysentry.decoders import MAX_ENCODED
from keysentry.engine.detector import LOOKAHEAD, LOOKBEHIND
from keysentry.model.key import KEY_LENGTH, KEY_PATTERN, redact_text
from keysentry.model.text import escape_text

WINDOW = 8 * 1024 * 1024
# a key that straddles a window is seen whole, plain or encoded (\u{73}\u{6b}...)
OVERLAP = max(KEY_LENGTH + LOOKAHEAD + 28, MAX_ENCODED)
SNIPPET_RADIUS = 40
PRAGMA_RADIUS = 1024
CONTEXT = max(4 * PRAGMA_RADIUS, LOOKBEHIND)  # kept before a window: a key's line and the one above
ALLOW_MARKERS = (b"keysentry: allow", b"pragma: allowlist secret")
ALLOW_NEXT_LINE_MARKERS = (b"keysentry: allow-next-line", b"pragma: allowlist nextline secret")
_UTF8_CONTINUATION = bytes(range(0x80, 0xC0))


def char_count(data: bytes) -> int:
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


def windows(stream: BinaryIO, size: int = WINDOW, head: bytes | None = None) -> Iterator[Window]:
    """Overlapping windows over a stream, in bounded memory.

    One block is read ahead, so the last window of a stream still holds the
    CONTEXT bytes before its keys (their line, allow comments, provider hints)
    and a stream that fits one block is one window. ``head`` is the stream's first
    read of ``size`` bytes when a caller made it already (to tell a container by it).
    """
    data, ended = _first_block(stream, size, head)
    pending = stream.read(size) if data and not ended else b""
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
        column_chars = char_count(data[newline + 1 : cut]) + (column_chars if newline < 0 else 0)
        data, offset, accept_from = data[cut:] + pending, offset + cut, accept_to - cut
        pending = stream.read(size)


def _first_block(stream: BinaryIO, size: int, head: bytes | None) -> tuple[bytes, bool]:
    """The first block, topped up to size as a second read would (a pipe's or an archive
    member's first read may be short), and whether the stream is known to have ended."""
    if head is None:
        data = stream.read(size)
        return data, not data
    if not head or len(head) >= size:
        return head, not head
    more = stream.read(size - len(head))
    return head + more, not more


def line_bounds(data: bytes, start: int, end: int) -> tuple[int, int]:
    lo = data.rfind(b"\n", max(0, start - PRAGMA_RADIUS), start) + 1
    if lo == 0:
        lo = max(0, start - PRAGMA_RADIUS)
    hi = data.find(b"\n", end, end + PRAGMA_RADIUS)
    return lo, (min(len(data), end + PRAGMA_RADIUS) if hi < 0 else hi)


def is_allowed_inline(data: bytes, start: int, end: int) -> bool:
    """An allow comment on the key's line, or an allow-next-line on the line above."""
    lo, hi = line_bounds(data, start, end)
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
    lo, hi = line_bounds(data, start, end)
    lo, hi = max(lo, start - SNIPPET_RADIUS), min(hi, end + SNIPPET_RADIUS)
    # a neighbouring key cut by an edge would escape redaction: keep it whole
    for other in KEY_PATTERN.finditer(data, max(0, lo - KEY_LENGTH), hi + KEY_LENGTH):
        if other.start() < lo < other.end():
            lo = other.start()
        if other.start() < hi < other.end():
            hi = other.end()
    text = data[lo:hi].decode("utf-8", "replace").strip()
    return escape_text(redact_text(text))


def position(window: Window, pos: int) -> tuple[int, int]:
    """Line and column (1-based, in characters) of window.data[pos]."""
    data = window.data
    line = window.line + data.count(b"\n", 0, pos)
    newline = data.rfind(b"\n", 0, pos)
    column = char_count(data[newline + 1 : pos]) + 1
    return line, column + (window.column_chars if newline < 0 else 0)


_BOMS = (b"\xff\xfe", b"\xfe\xff")


def utf16_column(window: Window, pos: int) -> int:
    """Column (1-based, in characters) of the UTF-16 unit at window.data[pos]; a newline's
    ``\n`` byte is the first of its unit (little endian) or the second (big endian)."""
    data = window.data
    newline = data.rfind(b"\n", 0, pos)
    if newline >= 0:
        line_start = newline + (2 if (pos - newline) % 2 == 0 else 1)
        return (pos - line_start) // 2 + 1
    line_start = pos % 2
    if window.offset == 0 and data[line_start : line_start + 2] in _BOMS:
        line_start += 2
    return (pos - line_start) // 2 + 1 + window.column_chars
