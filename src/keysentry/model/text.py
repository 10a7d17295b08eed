"""Making untrusted text (paths, snippets) safe to print."""

from __future__ import annotations

import re

from keysentry.model.key import redact_text
from keysentry.model.pattern import lazy

_UNSAFE = lazy(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\x{code:02x}")
    return f"\\u{code:04x}"


def escape_text(text: str) -> str:
    """Control, bidi-override and undecodable characters as visible escapes.

    A file name or snippet cannot move the cursor, recolour the terminal or
    reorder what is shown around it.
    """
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to escape
    return _UNSAFE.sub(_escape, text)


def decode_path(raw: bytes | str) -> str:
    """A path (or ref) as printable text: undecodable bytes become ``\\xNN``, and a key in
    it is redacted (engine/names.py reports it as a finding of its own)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "surrogateescape")
    return redact_text(escape_text(raw))
