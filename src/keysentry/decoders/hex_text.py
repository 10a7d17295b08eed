"""Keys written as hex text of their bytes: ``736b2d…``, ``0x73, 0x6b, …``, ``73 6b 2d …``
(``\\x73\\x6b…`` is a JavaScript escape: decoders/escapes.py)."""

from __future__ import annotations

import re

from keysentry.decoders.context import RADIUS, context_text
from keysentry.decoders.decoded_key import DecodedKey
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


def _before(data: bytes, at: int) -> bytes:
    """The bytes that the plain hex run just before data[at] holds, pair by pair back."""
    lo = at
    while lo > 0 and at - lo < 2 * (RADIUS + 1) and data[lo - 1] in _HEX_CHAR:
        lo -= 1
    lo += (at - lo) % 2
    return bytes.fromhex(data[lo:at].decode("ascii"))


def decode_key_at(data: bytes, at: int) -> DecodedKey | None:
    """The key whose hex text starts at data[at]; the hex around it is decoded too, so
    the detector's boundary rules judge the decoded text (``746f6b3d736b2d…`` is
    ``tok=sk-…``, a key; ``78736b2d…`` is ``xsk-…``, not one)."""
    match = KEY_SHAPE.match(data, at)
    if match is None:
        return None
    end = match.end()
    before = _before(data, at) if data[at : at + 2] not in (b"0x", b"0X") else b""
    decoded = before + bytes(int(p, 16) for p in _PAIR.findall(data, at, end))
    follower = re.match(_SEPARATOR + rb"(?:0[xX])?([0-9a-fA-F]{2})", data[end : end + 6])
    if follower is not None:
        decoded += bytes([int(follower.group(1), 16)])
    elif end < len(data) and data[end] in _HEX_CHAR:
        return None  # an odd digit more: not whole bytes
    lead = len(before)
    for cand in find_candidates(decoded, lead, lead + 1):
        return DecodedKey(at, end, cand.key, ("hex",), context_text(decoded, cand.start, cand.end))
    return None
