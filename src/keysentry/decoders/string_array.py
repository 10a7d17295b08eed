"""Keys that javascript-obfuscator split into pieces and moved to its string array.

Its output keeps the pieces in one array literal (``['sk-c','fd42',…]``), reads them
through an accessor that subtracts a fixed offset (``_0x1=_0x1-0x16a;``) and joins the
calls (``a0_0x43(0x175)+a0_0x43(0x177)+…``). At start-up a loop rotates the array until a
checksum matches; that rotation is not known without running the code, so every
rotation that puts a piece able to start a key under a call of a chain is tried: the
joined text must still meet the detector's rules, whole.
"""

from __future__ import annotations

import re

import ahocorasick_rs

from keysentry.decoders.context import context_text
from keysentry.decoders.decoded_key import DecodedKey
from keysentry.engine.detector import find_candidates

MAX_ARRAY = 1 << 20  # bytes of an array literal
_STRING = rb"(?:'[^'\\\n]*'|\"[^\"\\\n]*\")"
_ITEMS = re.compile(rb"\[\s*" + _STRING + rb"(?:\s*,\s*" + _STRING + rb")*\s*\]")
_ITEM = re.compile(rb"'([^'\\\n]*)'|\"([^\"\\\n]*)\"")
# the accessor's index offset; each pattern here starts where a name starts (the
# lookbehind), or a long run of name characters costs a try of the run at each of them
OFFSET = re.compile(rb"(?<![\w$])([\w$]+) ?= ?\1 ?- ?(0x[0-9a-fA-F]+|\d+);")
_CALL = rb"(?<![\w$])[\w$]+\((0x[0-9a-fA-F]+)\)"
_CHAIN = re.compile(rb"(?:" + _CALL + rb"\s*\+\s*)+" + _CALL)
_INDEX = re.compile(_CALL)
_STARTS = re.compile(rb"sk-[0-9a-f]*$|sk$|s$")


def _array(data: bytes, at: int) -> tuple[int, list[bytes]] | None:
    """The string array literal around data[at]: where it starts, and its items."""
    lo = max(0, at - MAX_ARRAY)
    start = data.rfind(b"[", lo, at)
    while start >= 0:
        match = _ITEMS.match(data, start)
        if match is not None and match.end() > at:
            return start, [a or b for a, b in _ITEM.findall(data, start, match.end())]
        start = data.rfind(b"[", lo, start)
        if at - start > MAX_ARRAY:
            break
    return None


# the rotation loop javascript-obfuscator writes: ``_0x2c['push'](_0x2c['shift']())``
LOOP_MARKERS = (b"['push'](", b"['shift']()")
# one SIMD substring search each (memchr's memmem): ``marker in data`` took 5 ms on a 9 MB
# bundle, these 0.4 ms
_MARKER_FINDERS = [ahocorasick_rs.BytesAhoCorasick([marker]) for marker in LOOP_MARKERS[::-1]]
# the custom base64 alphabet literal of its base64/rc4-encoded arrays (decoders/encoded_array.py)
ENCODED_ALPHABET = b"'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/='"


def looks_obfuscated(data: bytes) -> bool:
    """The rotation loop javascript-obfuscator writes is in data (both its markers)."""
    return all(finder.find_matches_as_indexes(data) for finder in _MARKER_FINDERS)


def find_keys(data: bytes, at: int) -> list[DecodedKey]:
    """Keys joined from the string array holding data[at], each placed at its chain."""
    if not looks_obfuscated(data):
        return []
    found = _array(data, at)
    if found is None:
        return []
    _, items = found
    size = len(items)
    starts = [i for i, item in enumerate(items) if _STARTS.search(item) or b"sk-" in item]
    offsets = {int(m.group(2), 0) for m in OFFSET.finditer(data)}
    keys = []
    for chain in _CHAIN.finditer(data):
        indices = [int(i, 16) for i in _INDEX.findall(chain.group())]
        tried = set()
        for offset in offsets:
            for position, index in enumerate(indices):
                for start in starts:
                    rotation = (start - (index - offset)) % size
                    if (offset, rotation) in tried:
                        continue
                    tried.add((offset, rotation))
                    slots = [(i - offset + rotation) % size for i in indices]
                    joined = b"".join(items[s] for s in slots[position:])
                    for cand in find_candidates(joined):
                        context = context_text(joined, cand.start, cand.end)
                        keys.append(
                            DecodedKey(chain.start(), chain.end(), cand.key, ("concat",), context)
                        )
                        break
            if keys and keys[-1].start == chain.start():
                break
    return keys
