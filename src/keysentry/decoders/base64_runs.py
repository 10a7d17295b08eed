"""Keys inside base64 runs: decoded only around a hit, at the alignment the hit implies.

"sk-" encodes to ``c2st`` when it starts a 3-byte group, to ``NrL`` (after one
byte) or ``zay`` (after two): every alignment has a fixed form, so a key anywhere
in a payload of any length is found by decoding a few dozen characters around
one of these. URL-safe base64 (``-_``) and javascript-obfuscator's alphabet
(letters' case swapped) decode the same way. Wrapped runs (line breaks, or
JSON's ``\\n`` and ``\\/`` escapes) are followed.
"""

from __future__ import annotations

import binascii
import re

from keysentry.decoders.context import RADIUS, context_text
from keysentry.decoders.decoded_key import DecodedKey
from keysentry.decoders.shapes import LEAD
from keysentry.engine.detector import find_candidates
from keysentry.model.key import KEY_LENGTH

ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
_URLSAFE = bytes.maketrans(b"-_", b"+/")
_RUN = re.compile(rb"[A-Za-z0-9+/_-]*=*")
_SWAPPED = frozenset(b"CnZ")  # first letters of the swapped-case needles
_CONTEXT_QUADS = (RADIUS + 2) // 3 + 1
_KEY_QUADS = (2 + KEY_LENGTH + 1 + 2) // 3 + _CONTEXT_QUADS


def run_end(data: bytes, begin: int, limit: int | None = None) -> int:
    """Where the base64 run (with its padding) starting at begin ends (at most at limit)."""
    match = _RUN.match(data, begin, len(data) if limit is None else limit)
    return match.end() if match else begin


def decode_run(encoded: bytes) -> bytes:
    """A whole run, standard or URL-safe, padded or not."""
    body = encoded.rstrip(b"=").translate(_URLSAFE)
    body = body[: len(body) - (len(body) % 4 == 1)]
    return binascii.a2b_base64(body + b"=" * (-len(body) % 4))


def _step(data: bytes, pos: int, direction: int) -> int:
    """The next base64 character's index from pos, across line breaks; -1 at the run's end."""
    while 0 <= pos < len(data):
        byte = data[pos]
        if direction < 0 and byte in b"n/" and pos > 0 and data[pos - 1] == 0x5C:
            if byte == 0x2F:  # JSON's \/
                return pos
            pos -= 2  # JSON's \n
            continue
        if byte in ALPHABET:
            return pos
        if byte in b"\r\n":
            pos += direction
            continue
        follower = data[pos + 1 : pos + 2]
        if byte == 0x5C and follower in (b"/", b"n"):
            if direction < 0:
                pos -= 1
                continue
            if follower == b"/":
                return pos + 1
            pos += 2
            continue
        return -1
    return -1


def _collect(data: bytes, quad: int, back_quads: int, ahead_quads: int) -> tuple[bytes, list[int]]:
    """Whole quads of characters around data[quad], and where each came from."""
    before: list[int] = []
    pos = quad - 1
    while len(before) < 4 * back_quads:
        pos = _step(data, pos, -1)
        if pos < 0:
            break
        before.append(pos)
        pos -= 1
    before = before[: len(before) // 4 * 4]
    before.reverse()
    after: list[int] = []
    pos = quad
    while len(after) < 4 * ahead_quads:
        pos = _step(data, pos, 1)
        if pos < 0:
            break
        after.append(pos)
        pos += 1
    positions = before + after
    return bytes(data[p] for p in positions), positions


def decode_key_at(data: bytes, at: int, end: int, back: int) -> DecodedKey | None:
    """The key whose "sk-" encodes to data[at:end], a hit ``back`` characters into its quad."""
    quad = at - back
    if quad < 0 or (back and any(b not in ALPHABET for b in data[quad:at])):
        return None
    chars, positions = _collect(data, quad, _CONTEXT_QUADS, _KEY_QUADS)
    swapped = data[at] in _SWAPPED
    if swapped:
        chars = chars.swapcase()
    usable = len(chars) - (len(chars) % 4 == 1)  # a lone last character holds no byte
    try:
        padded = chars[:usable].translate(_URLSAFE) + b"=" * (-usable % 4)
        decoded = binascii.a2b_base64(padded)
    except binascii.Error:
        return None
    lead = positions.index(quad) // 4 * 3 + LEAD[back]
    for cand in find_candidates(decoded, lead, lead + 1):
        first = positions[cand.start * 4 // 3]
        last = positions[min(usable, -(-cand.end * 4 // 3)) - 1] + 1
        chain = ("base64-swapcase",) if swapped else ("base64",)
        return DecodedKey(first, last, cand.key, chain, context_text(decoded, cand.start, cand.end))
    return None
