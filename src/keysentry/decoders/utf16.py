"""Keys in UTF-16 text (little or big endian, with or without a BOM), also UTF-16 string
runs inside binary files: found from a hit on ``s\\0k\\0-`` and decoded only around it."""

from __future__ import annotations

import re

from keysentry.decoders.context import RADIUS, context_text
from keysentry.decoders.decoded_key import DecodedKey
from keysentry.engine.detector import find_candidates
from keysentry.model.key import KEY_LENGTH

LITTLE = re.compile(rb"s\0k\0-\0(?:[0-9a-f]\0){32}")
BIG = re.compile(rb"\0s\0k\0-(?:\0[0-9a-f]){32}")


def decode_key_at(data: bytes, at: int, base: int = 0) -> DecodedKey | None:
    """The key whose UTF-16 ``s`` unit starts at data[at] (little endian: at is the ``s``
    byte; big endian: the NUL before it).

    ASCII text in little endian read one byte late is the same bytes as big endian, so
    the reading whose units start at even offsets of the stream (data[0] is at ``base``)
    comes first: text files and string pools are aligned."""
    readings = [(BIG, at, "utf-16-be", "utf-16be"), (LITTLE, at + 1, "utf-16-le", "utf-16le")]
    if (base + at) % 2:
        readings.reverse()
    for pattern, start, codec, chain in (*readings, (LITTLE, at, "utf-16-le", "utf-16le")):
        if not pattern.match(data, start):
            continue
        lo = max(start - 2 * (RADIUS + 1), start % 2)
        hi = min(len(data), start + 2 * (KEY_LENGTH + 1 + RADIUS))
        hi -= (hi - lo) % 2
        # decoded in two parts: a surrogate pair before the key is one character of two
        # units, so the key's character index is not its unit index (start - lo) // 2
        before = data[lo:start].decode(codec, "replace").encode("utf-8", "replace")
        decoded = before + data[start:hi].decode(codec, "replace").encode("utf-8", "replace")
        lead = len(before)
        for cand in find_candidates(decoded, lead, lead + 1):
            end = start + 2 * KEY_LENGTH
            return DecodedKey(
                start, end, cand.key, (chain,), context_text(decoded, cand.start, cand.end)
            )
    return None
