"""Keys written with escapes: JavaScript/JSON (``\\x73``, ``\\u0073``, ``\\u{73}``,
octal ``\\163``, ``\\/``), percent-encoding (``%73``) and HTML character references
(``&#115;``, ``&#x73;``).

A hit is an escaped ``s``; the characters from there on are decoded (escaped or
not, so half-escaped keys count too) until a whole key and the character after
it are known. The character before is decoded from the text in front, so the
detector's boundary rules apply to the decoded text.
"""

from __future__ import annotations

import re

from keysentry.decoders.context import RADIUS, context_text
from keysentry.decoders.decoded_key import DecodedKey
from keysentry.engine.detector import find_candidates
from keysentry.model.key import KEY_LENGTH

_TOKENS = {
    "js-escape": re.compile(
        rb"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|u\{([0-9a-fA-F]{1,6})\}|([0-7]{1,3})|(.))",
        re.S,
    ),
    "percent": re.compile(rb"%([0-9a-fA-F]{2})"),
    "html-entity": re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,6})|([0-9]{1,7}));"),
}
_BASES = {"js-escape": (16, 16, 16, 8, 0), "percent": (16,), "html-entity": (16, 10)}
_BEFORE_SPAN = 16 * (RADIUS + 1)  # raw bytes decoded in front of a hit: room for \u{...}


def _value(match: re.Match[bytes], bases: tuple[int, ...]) -> bytes:
    for group, base in zip(match.groups(), bases, strict=True):
        if group is not None:
            if base == 0:
                return group
            code = int(group, base)
            return chr(code).encode("utf-8", "replace") if code <= 0x10FFFF else b"?"
    return b"?"


def _decode(
    data: bytes, pos: int, stop: int, kind: str, max_out: int
) -> tuple[bytearray, list[int]]:
    """Decoded bytes of data[pos:stop] (at most max_out), and the raw end of each."""
    token, bases = _TOKENS[kind], _BASES[kind]
    out = bytearray()
    ends: list[int] = []
    while pos < stop and len(out) < max_out:
        match = token.match(data, pos)
        if match is None:
            piece, pos = data[pos : pos + 1], pos + 1
        else:
            piece, pos = _value(match, bases), match.end()
        out += piece
        ends.extend([pos] * len(piece))
    return out, ends


def decode_key_at(data: bytes, at: int, kind: str) -> DecodedKey | None:
    """The key whose escaped "s" starts at data[at], decoded with the rules of ``kind``."""
    before, _ = _decode(data, max(0, at - _BEFORE_SPAN), at, kind, _BEFORE_SPAN)
    before = before[-RADIUS - 1 :]
    after, ends = _decode(data, at, len(data), kind, KEY_LENGTH + 1 + RADIUS)
    decoded = bytes(before + after)
    lead = len(before)
    for cand in find_candidates(decoded, lead, lead + 1):
        end = ends[cand.end - lead - 1]
        context = context_text(decoded, cand.start, cand.end)
        return DecodedKey(at, end, cand.key, (kind,), context)
    return None
