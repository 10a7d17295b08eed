"""Keys written as hex text of their bytes: ``736b2d…``, ``0x73, 0x6b, …``, ``73 6b 2d …``
(``\\x73\\x6b…`` is a JavaScript escape: decoders/escapes.py)."""

from __future__ import annotations

import re

from keysentry.decoders.context import context_text
from keysentry.engine.detector import find_candidates
from keysentry.model.key import KEY_LENGTH

_SEPARATOR = rb"(?:, ?|[ :])?"


def _byte(values: bytes) -> bytes:
    pairs = b"|".join(
        b"".join(b"[%c%c]" % (c, c ^ 0x20) if c >= 0x61 else bytes([c]) for c in b"%02x" % v)
        for v in values
    )
    return rb"(?:0[xX])?(?:" + pairs + rb")"


_HEX_DIGITS = b"0123456789abcdef"
KEY_SHAPE = re.compile(
    _byte(b"s")
    + b"".join(_SEPARATOR + _byte(bytes([c])) for c in b"k-")
    + b"(?:"
    + _SEPARATOR
    + _byte(_HEX_DIGITS)
    + b"){%d}" % (KEY_LENGTH - 3)
)
_PAIR = re.compile(rb"(?:0[xX])?([0-9a-fA-F]{2})")
_HEX_CHAR = frozenset(b"0123456789abcdefABCDEF")


def decode_key_at(data: bytes, at: int) -> tuple[int, int, str, tuple[str, ...], str] | None:
    """The key whose hex text starts at data[at] (not in the middle of a longer hex run)."""
    if at > 0 and data[at - 1] in _HEX_CHAR and data[at : at + 2] != b"0x":
        return None
    match = KEY_SHAPE.match(data, at)
    if match is None:
        return None
    end = match.end()
    decoded = bytes(int(p, 16) for p in _PAIR.findall(data, at, end))
    follower = re.match(_SEPARATOR + rb"(?:0[xX])?([0-9a-fA-F]{2})", data[end : end + 6])
    if follower is not None:
        decoded += bytes([int(follower.group(1), 16)])
    elif end < len(data) and data[end] in _HEX_CHAR:
        return None  # a longer hex run
    for cand in find_candidates(decoded, 0, 1):
        return at, end, cand.key, ("hex",), context_text(decoded, cand.start, cand.end)
    return None
