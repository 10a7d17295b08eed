"""The whole shape of an encoded key, as one compiled pattern per encoding: the cheap test
every decoder hit passes before it is decoded.

A hit says only that an encoded ``s`` (or ``sk-``) starts here. A file can hold millions
of them (``\\x73`` runs, ``c2st`` repeated) and no key at all; decoding each costs tens of
microseconds of Python, testing it against these patterns well under one. Each pattern
accepts at least every form its decoder reads as a key (it may accept a little more: the
decoder then says no), so nothing the decoders would find is lost.
"""

from __future__ import annotations

import functools
import re
from itertools import product

from keysentry.model.key import KEY_LENGTH

_HEX_BODY = b"0123456789abcdef"
_PREFIX = b"sk-"
_STD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _hex(value: int, width: int) -> str:
    """Regex for value in hex, either case, zero-padded to width."""
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in f"{value:0{width}x}")


def _octal(value: int) -> str:
    digits = f"{value:o}"
    return f"0{{0,{3 - len(digits)}}}{digits}" if len(digits) < 3 else digits


def _one_char(kind: str, values: bytes) -> str:
    """Regex for one character out of values, written as ``kind`` writes it (or as is)."""
    forms: list[str] = [re.escape(bytes([v]).decode()) for v in values]
    for v in values:
        if kind == "js-escape":
            forms += [
                rf"\\x{_hex(v, 2)}",
                rf"\\u{_hex(v, 4)}",
                rf"\\u\{{0{{0,4}}{_hex(v, 2)}\}}",
                rf"\\{_octal(v)}",
            ]
            if chr(v) not in "01234567xu":
                forms.append(rf"\\{re.escape(chr(v))}")
        elif kind == "percent":
            forms.append(f"%{_hex(v, 2)}")
        else:  # html-entity
            forms += [f"&#[xX]0{{0,4}}{_hex(v, 2)};", f"&#0{{0,5}}{v};"]
    return "(?:" + "|".join(forms) + ")"


def _escaped_key(kind: str) -> re.Pattern[bytes]:
    parts = [_one_char(kind, bytes([c])) for c in _PREFIX]
    body = _one_char(kind, _HEX_BODY)
    return re.compile(("".join(parts) + f"{body}{{{KEY_LENGTH - 3}}}").encode())


@functools.cache
def escaped_key(kind: str) -> re.Pattern[bytes]:
    """The pattern of a whole key written with ``kind``'s escapes (compiled when first met)."""
    return _escaped_key(kind)


def _key_bytes(lead: int) -> list[bytes]:
    """The bytes each position of ``lead`` unknown bytes and a key can hold."""
    return (
        [bytes(range(256))] * lead + [bytes([c]) for c in _PREFIX] + [_HEX_BODY] * (KEY_LENGTH - 3)
    )


def _base64_classes(choices: list[bytes], swapped: bool = False) -> list[bytes]:
    """For each base64 character encoding bytes of ``choices`` from a quad's start: the
    characters it can be (standard or URL-safe alphabet)."""
    total = len(choices)
    classes = []
    for char in range(-(-total * 4 // 3)):
        first_bit = char * 6
        byte_lo, byte_hi = first_bit // 8, (first_bit + 5) // 8
        options = [choices[i] if i < total else bytes(range(256)) for i in (byte_lo, byte_hi)]
        shift = 16 - (first_bit % 8) - 6
        if byte_hi == byte_lo:
            values = {(a << 8 >> shift) & 0x3F for a in options[0]}
        else:  # only the bits this character takes from each byte matter
            lows = {a & (0xFF >> (first_bit % 8)) for a in options[0]}
            highs = {b & (0xFF << (8 - (first_bit + 6) % 8)) & 0xFF for b in options[1]}
            values = {(((a << 8) | b) >> shift) & 0x3F for a, b in product(lows, highs)}
        chars = bytes(sorted({_STD[v] for v in values} | {_URL[v] for v in values}))
        classes.append(chars.swapcase() if swapped else chars)
    return classes


def _pattern(classes: list[bytes]) -> re.Pattern[bytes]:
    return re.compile(b"".join(b"[" + re.escape(c) + b"]" for c in classes))


LEAD = {0: 0, 2: 1, 3: 2}  # decoded bytes before "sk-" in its quad, by the hit's offset in it
BASE64_SPAN = -(-(2 + KEY_LENGTH) * 4 // 3)  # characters of the longest alignment


@functools.cache
def base64_key(back: int, swapped: bool) -> re.Pattern[bytes]:
    """The pattern of a whole base64 key whose hit is ``back`` characters into its quad."""
    return _pattern(_base64_classes(_key_bytes(LEAD[back]), swapped))


HIT_BACK = {lead: back for back, lead in LEAD.items()}  # where a one-layer needle sits
NEEDLE_MIN = 4  # characters of a nested needle: 3-character forms hit ordinary text too often
_ANY = bytes(range(256))


def _nested_classes(leads: tuple[int, ...]) -> list[bytes]:
    """Base64 of base64 ... of a key, one class per character of the outermost layer from
    its quad's start; ``leads`` are the bytes before each layer's encoding in its decoded
    quad, innermost first (0, 1 or 2: the nine alignments of two layers, and so on)."""
    classes = _base64_classes(_key_bytes(leads[0]))
    for lead in leads[1:]:
        classes = _base64_classes([_ANY] * lead + classes)
    return classes


@functools.cache
def nested_base64_key(leads: tuple[int, ...]) -> re.Pattern[bytes]:
    """The pattern of a whole nested base64 key, from its outermost quad's start."""
    return _pattern(_nested_classes(leads))


def nested_needle(leads: tuple[int, ...]) -> tuple[bytes, int]:
    """The longest run of characters every encoding at these alignments shares (standard
    alphabet), and how far into the outermost quad it starts."""
    known = [c if len(c) == 1 else b"" for c in _nested_classes(leads)]
    best, at, run = b"", 0, 0
    for i, chars in enumerate([*known, b""]):
        if chars:
            run += 1
        elif run:
            if run > len(best):
                best, at = b"".join(known[i - run : i]), i - run
            run = 0
    return best, at


_RUN = re.compile(rb"[A-Za-z0-9+/_-]*")


def base64_may_hold_key(data: bytes, quad: int, back: int, swapped: bool) -> bool:
    """Whether the base64 from data[quad] can decode to a key at the hit's alignment.

    Wrapped runs (line breaks, JSON's ``\\n`` and ``\\/``) are unwrapped first."""
    pattern = base64_key(back, swapped)
    if pattern.match(data, quad):
        return True
    run = _RUN.match(data, quad, quad + BASE64_SPAN)
    stop = run.end() if run else quad
    if stop >= len(data) or stop == quad + BASE64_SPAN or data[stop] not in b"\r\n\\":
        return False  # not wrapped where the key's shape broke off
    piece = data[quad : quad + 3 * BASE64_SPAN]
    piece = piece.replace(b"\\/", b"/").replace(b"\\n", b"").replace(b"\r", b"").replace(b"\n", b"")
    return pattern.match(piece) is not None
