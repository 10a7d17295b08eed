"""javascript-obfuscator's string array with ``--string-array-encoding base64`` or ``rc4``,
decoded statically: no JavaScript runs.

Each item of the array literal is base64 in the obfuscator's alphabet (lower case first,
padding dropped) of the UTF-8 text; with rc4 that text is RC4-encrypted with a key that
each call site passes as a literal (``_0x4ba8(0x95,'wuS@')``). The accessor subtracts a
fixed offset from the index (``_0x2a=_0x2a-0x86;``), and at start-up a loop rotates the
array until a checksum matches: the rotation is not known without running the code. With
rc4 it is found by trying each one on a few call sites: only the right rotation decrypts
them all to printable text (a wrong one gives random bytes). With base64 every rotation
decodes, so for a chain of calls (``--split-strings``) the rotations that put a piece
able to start a key under a call are tried, as for plain split strings
(decoders/string_array.py); a whole key in one item is found by the base64 decoder, at
the item (``base64-swapcase``), since any rotation would fit a single call. Then each
call (rc4) or chain of calls joined by ``+`` is decoded and joined, and the joined text
must meet the detector's rules. Bounded: at most MAX_ITEMS items, MAX_CALLS call sites, and
MAX_TRIALS decryptions per chunk.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import replace

from keysentry.decoders import array_rotation, calls_transform, wrapper_calls
from keysentry.decoders.context import context_text
from keysentry.decoders.decoded_key import DecodedKey
from keysentry.decoders.string_array import OFFSET
from keysentry.engine.detector import find_candidates

MAX_ITEMS = 4096
MAX_CALLS = 16384
MAX_TRIALS = 20000  # RC4 decryptions spent looking for the rotation
_SAMPLE = 3  # call sites a rotation must decrypt to printable text
_ARRAY = re.compile(rb"function\s*[\w$]+\(\)\s*\{\s*(?:const|var|let)\s+[\w$]+\s*=\s*\[")
_STRING = rb"'[^'\\\n]*'"
_ITEMS = re.compile(rb"\[\s*(?:" + _STRING + rb"(?:\s*,\s*" + _STRING + rb")*)?\s*\]")
_ITEM = re.compile(rb"'([^'\\\n]*)'")
_CHAIN = re.compile(rb"(?:" + wrapper_calls.CALL + rb"\s*\+\s*)*" + wrapper_calls.CALL)
_ONE_CALL = re.compile(wrapper_calls.CALL)
_SWAP = bytes.maketrans(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
)
_STARTS = re.compile(r"sk-[0-9a-f]*$|sk$|s$")

Found = DecodedKey


def _unbase64(item: bytes) -> str | None:
    """The obfuscator's base64 (its alphabet, no padding) decoded as its UTF-8 text."""
    text = item.translate(_SWAP)
    try:
        raw = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _rc4(key: str, text: str) -> str:
    state = list(range(256))
    j = 0
    codes = [ord(c) for c in key]
    for i in range(256):
        j = (j + state[i] + codes[i % len(codes)]) % 256
        state[i], state[j] = state[j], state[i]
    out = []
    i = j = 0
    for char in text:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(chr(ord(char) ^ state[(state[i] + state[j]) % 256]))
    return "".join(out)


def _printable(text: str) -> bool:
    return all(" " <= c <= "~" or c in "\t\n\r" for c in text)


def _items(data: bytes) -> tuple[list[str | None], int] | None:
    """The decoded (base64 step) items of the string array, and where the array ends."""
    head = _ARRAY.search(data)
    if head is None:
        return None
    match = _ITEMS.match(data, head.end() - 1)
    if match is None:
        return None
    raw = _ITEM.findall(data, match.start(), match.end())
    if not raw or len(raw) > MAX_ITEMS:
        return None
    return [_unbase64(item) for item in raw], match.end()


Call = tuple[int, str | None]  # (index, rc4 key or None)


def _chains(data: bytes, known: wrapper_calls.Wrappers) -> list[tuple[int, int, list[Call]]]:
    """Each chain of accessor calls joined by ``+``, its calls read through the function
    wrappers (decoders/wrapper_calls.py); a chain ends at a call that reads no item."""
    chains = []
    for chain in _CHAIN.finditer(data):
        calls: list[Call] = []
        start = end = chain.start()
        for one in _ONE_CALL.finditer(chain[0]):
            call = wrapper_calls.resolve(one[0], known)
            if call is None:
                if calls:
                    chains.append((start, end, calls))
                calls = []
                continue
            if not calls:
                start = chain.start() + one.start()
            calls.append((call.index, call.key))
            end = chain.start() + one.end()
        if calls:
            chains.append((start, end, calls))
        if len(chains) >= MAX_CALLS:
            break
    return chains[:MAX_CALLS]


def _rc4_rotation(
    items: list[str | None], calls: list[Call], offsets: set[int]
) -> Callable[[int], int] | None:
    """slot(index) for the rotation and offset that decrypt the sample calls to text."""
    size = len(items)
    sample = list({call[0]: call for call in calls if call[1]}.values())[:_SAMPLE]
    if not sample:
        return None
    trials = 0
    for offset in sorted(offsets):
        for rotation in range(size):
            good = 0
            for index, key in sample:
                item = items[(index - offset + rotation) % size]
                trials += 1
                if item is not None and key and _printable(_rc4(key, item)):
                    good += 1
                else:
                    break
            if good == len(sample):
                return lambda index, o=offset, r=rotation: (index - o + r) % size
            if trials >= MAX_TRIALS:
                return None
    return None


def _joined_keys(
    start: int, end: int, texts: list[str | None], steps: tuple[str, ...]
) -> list[Found]:
    """The key in the calls' texts joined, named by the steps that decoded it."""
    joined = "".join(t or "\0" for t in texts).encode("utf-8", "replace")
    for cand in find_candidates(joined):
        context = context_text(joined, cand.start, cand.end)
        pieces = ("concat",) if len(texts) > 1 else ()
        return [DecodedKey(start, end, cand.key, ("string-array", *steps, *pieces), context)]
    return []


def find_keys(data: bytes) -> list[Found]:
    """Keys in an encoded string array (base64 or rc4), each placed at its call (chain);
    the arguments ``--string-array-calls-transform`` moved into objects read back first."""
    inlined = calls_transform.inline(data)
    if inlined.data is data:
        return _find_keys(data)
    return [
        replace(k, start=inlined.original(k.start), end=inlined.original(k.end - 1) + 1)
        for k in _find_keys(inlined.data)
    ]


def _find_keys(data: bytes) -> list[Found]:
    parsed = _items(data)
    if parsed is None:
        return []
    items, array_end = parsed
    size = len(items)
    offsets = {int(m[2], 0) for m in OFFSET.finditer(data)} or {0}
    known = wrapper_calls.wrappers(data)
    chains = [c for c in _chains(data, known) if c[0] >= array_end or c[1] <= array_end]
    calls = [call for _, _, chain in chains for call in chain]
    found: list[Found] = []
    if any(key for _, key in calls):  # rc4: one rotation, found by decrypting
        slot = _rc4_rotation(items, calls, offsets)
        if slot is None:
            return []
        for start, end, chain in chains:
            texts = []
            for index, key in chain:
                item = items[slot(index)]
                texts.append(_rc4(key, item) if key and item is not None else None)
            if any(t and ("s" in t) for t in texts):
                found += _joined_keys(start, end, texts, ("base64", "rc4"))
        return found
    known = array_rotation.rotation(data, items, offsets, known)
    if known is None and b"['shift']()" not in data:  # --string-array-rotate false
        offset = min(offsets)
        known = lambda index: (index - offset) % size  # noqa: E731
    if known is not None:  # every call reads the item the program reads
        for start, end, chain in chains:
            texts = [items[known(index)] for index, _ in chain]
            if any(t and "s" in t for t in texts):
                found += _joined_keys(start, end, texts, ("base64",))
        return found
    starts = [i for i, t in enumerate(items) if t and (_STARTS.search(t) or "sk-" in t)]
    for start, end, chain in chains:  # base64: every rotation that puts a key's start here
        if len(chain) < 2:  # any rotation fits one call: a whole item is found as base64
            continue
        tried: set[tuple[int, int]] = set()
        for offset in offsets:
            for position, (index, _) in enumerate(chain):
                for first in starts:
                    rotation = (first - (index - offset)) % size
                    if (offset, rotation) in tried:
                        continue
                    tried.add((offset, rotation))
                    slots = [(i - offset + rotation) % size for i, _ in chain[position:]]
                    keys = _joined_keys(start, end, [items[s] for s in slots], ("base64",))
                    if keys:
                        found += keys
                        break
                if found and found[-1].start == start:
                    break
            if found and found[-1].start == start:
                break
    return found
