"""Encoded forms of a key inside a chunk of bytes: targeted, never brute force.

One SIMD multi-needle pass (ahocorasick-rs) finds the places where an encoded
``sk-`` can begin: its three base64 alignments (standard, URL-safe and the
swapped-case alphabet of javascript-obfuscator) and the same inside a second
base64 layer, an escaped ``s`` (``\\x73``, ``\\u0073``, ``\\u{73}``, ``\\163``,
``%73``, ``&#115;``, ``&#x73;``), hex text (``736b2d``, ``0x73``), UTF-16
(``s\\0k\\0-``), an inline source map, and base64 of gzip (``H4sI``).
Two more passes look for base64 three layers deep (its 27 needles) and for the start
of a run encoded four times or more (decoders/base64_layers.py decodes it layer by layer).

Each hit first meets the whole shape of an encoded key (decoders/shapes.py, one
compiled pattern: a fraction of a microsecond); only hits that pass are decoded,
a few bytes around them. Within one window at most ``MAX_DECODES`` hits of each decoder
are decoded and ``MAX_PAYLOADS`` payloads handed back: a file made of needles
(``c2st`` or ``%73`` repeated) costs one cheap test per needle, and what was past
the budget is counted, never silently dropped. Each decoded key reports the span
of its encoded form in the chunk, so line and column point at the original bytes.

Pure: bytes in, decoded keys and embedded payloads out.
"""

from __future__ import annotations

import binascii
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import product

import ahocorasick_rs

from keysentry.decoders import (
    base64_layers,
    base64_runs,
    concat,
    escapes,
    hex_text,
    shapes,
    string_array,
    utf16,
)
from keysentry.decoders.decoded_key import DecodedKey
from keysentry.model.key import KEY_PREFIX

MAX_ENCODED = 512  # raw bytes an encoded key spans after a hit (\\u{73} x 35, and context)
MAX_DECODES = 4096  # hits of one decoder decoded per window once past their shape test
MAX_PAYLOADS = 64  # payloads (inline maps, base64 gzip) handed back per window
MAX_NESTING = 6  # base64 inside base64 (the scan passes its max_decode_depth)
_SLICE = 1 << 16  # bytes searched at a time: the list of hits stays small
_RARE_SLICE = 1 << 18  # the same for the passes of deep base64 (hits are rare there)


@dataclass(frozen=True)
class Payload:
    """A whole encoded run worth decoding and scanning as a document of its own.

    ``data`` is the decoded content of chunk[start:end]; decoded byte i comes from
    the base64 quad at ``start + (i // 3) * 4``.
    """

    start: int
    end: int
    data: bytes
    kind: str  # "sourcemap" (an inline source map) or "gzip" (base64 of gzip data)
    problem: str | None = None  # why it was not decoded (too large, truncated)


@dataclass
class Encoded:
    """What one chunk holds: decoded keys, payloads, and hits past the budget."""

    keys: list[DecodedKey] = field(default_factory=list)
    payloads: list[Payload] = field(default_factory=list)
    over_budget: int = 0  # hits that passed the shape test but were not decoded
    too_deep: int = 0  # nested base64 keys past max_nesting, not decoded
    too_deep_at: int = -1  # where the first of them starts in the chunk
    cut_runs: int = 0  # runs of base64 layers going on past the chunk, not decoded
    cut_at: int = -1  # where the first of them starts

    def deeper(self, at: int) -> None:
        """One more nested key past max_nesting, at data[at]."""
        self.too_deep += 1
        self.too_deep_at = at if self.too_deep_at < 0 else self.too_deep_at


_B64 = "b64"
_NESTED = "b64-nested"
NESTED_NEEDLE_DEPTH = 2  # layers this pass's needles reach (a third layer's 27 in it made the
# pass six times slower on JavaScript: they have a pass of their own, docs/decoders.md)
NESTED = list(product((0, 1, 2), repeat=NESTED_NEEDLE_DEPTH))  # alignments, innermost first
# shapes.nested_needle(leads) for each of NESTED, written out: computing them costs every
# run (the pre-commit hook's included) 6 ms; tests/decoders/test_text_encodings.py checks the table
_NESTED_NEEDLES = [
    (b"YzJzd", 0), (b"Myc3R", 2), (b"jMnN0", 3), (b"Ockx", 3), (b"TnJMV", 4),
    (b"5yTF", 6), (b"emF5M", 4), (b"pheT", 6), (b"6YXk", 7),
]  # fmt: skip
# a third layer's needles (27: the alignments of three layers, shapes.nested_needle) in a
# pass of their own: with the 40 above they would be past the 64 the SIMD search takes
NESTED3 = list(product((0, 1, 2), repeat=3))
_NESTED3_NEEDLES = [
    (b"WXpKemR", 0), (b"l6SnpkR", 2), (b"Zekp6ZE", 3), (b"NeWMzU", 3), (b"TXljM1J", 4),
    (b"15YzNS", 6), (b"ak1uTjB", 4), (b"pNbk4wV", 6), (b"qTW5OMF", 7), (b"T2NreF", 4),
    (b"9ja3h", 6), (b"PY2t4", 7), (b"RuSk1W", 6), (b"UbkpNV", 7), (b"VG5KTV", 8),
    (b"NXlUR", 8), (b"V5VEZ", 10), (b"1eVRG", 11), (b"VtRjVN", 6), (b"lbUY1T", 7),
    (b"ZW1GNU1", 8), (b"cGhlVE", 8), (b"BoZVR", 10), (b"waGVU", 11), (b"ZZWGt", 10),
    (b"2WVhr", 11), (b"NllYa3", 12),
]  # fmt: skip
_MIN_PAYLOAD = 28  # base64 characters of the smallest gzip stream (header, block, trailer)
_NEEDLES: dict[bytes, tuple[str, int]] = {
    # alignment of "sk-" in the decoded bytes: the quad holding the 's' starts this far back
    b"c2st": (_B64, 0),
    b"NrL": (_B64, 2),
    b"zay": (_B64, 3),
    b"C2ST": (_B64, 0),  # javascript-obfuscator's alphabet: standard with letters' case swapped
    b"nRl": (_B64, 2),
    b"ZAY": (_B64, 3),
    # base64 of the above (base64 inside base64), at each of the nine alignments of the two
    # layers: the value indexes NESTED (decoders/shapes.py computes each needle)
    **{needle: (_NESTED, form) for form, (needle, _) in enumerate(_NESTED_NEEDLES)},
    b"\\x73": ("js-escape", 0),
    b"\\u0073": ("js-escape", 0),
    b"\\u{73}": ("js-escape", 0),
    b"\\163": ("js-escape", 0),
    b"%73": ("percent", 0),
    b"&#115;": ("html-entity", 0),
    b"&#x73;": ("html-entity", 0),
    b"&#X73;": ("html-entity", 0),
    b"736b2d": ("hex", 0),
    b"736B2D": ("hex", 0),
    b"0x73": ("hex", 0),
    b"0X73": ("hex", 0),
    b"73 6": ("hex", 0),
    b"73:6": ("hex", 0),
    b"73, 0x6": ("hex", 0),
    b"\0s\0k\0-": ("utf-16", 0),  # big endian, or little endian after an ASCII character
    b"s\0k\0-\0": ("utf-16", 0),  # little endian at the start of a run
    b"sourceMappingURL=data:": ("inline-map", 0),
    b"H4sI": ("gzip-base64", 0),
    # javascript-obfuscator's base64/rc4 string-array decoder (decoders/encoded_array.py)
    string_array.ENCODED_ALPHABET: ("string-array", 0),
    # a literal piece that can start a key, joined to the next (decoders/concat.py)
    **{needle: ("concat", skip) for needle, skip in concat.NEEDLES.items()},
}
# The order the pass is given the needles in. The SIMD search ("Teddy") sorts them into 16
# buckets by this order and checks each bucket's fingerprint (its needles' first three
# bytes) at every position: needles that share a bucket but not their bytes make its
# fingerprint loose and the pass verify more. Any order finds the same hits (no needle is
# a prefix of another: tests/decoders/test_text_encodings.py); this one, found by
# bench/needle_order.py (random orders, then swaps, timed on a sample of the 282 MB
# JavaScript tree), takes 34 ms of CPU on that tree against 40 ms for the order before it
# and 79 ms for the table's order; on the 66 MB of tests/js/node_modules, 8.6 against 9.1 ms.
_PASS_ORDER = (
    b"73 6", b"736b2d", b"'sk'", b"Myc3R", b"jMnN0", b'"s"', b"TnJMV", b"0X73", b"emF5M",
    b"sourceMappingURL=data:", b"s\0k\0-\0", b"\\x73", b"%73", b"NrL",
    string_array.ENCODED_ALPHABET, b"&#115;", b"&#x73;", b"&#X73;", b"C2ST", b"736B2D",
    b"0x73", b"YzJzd", b"c2st", b"nRl", b"\\163", b"sk-", b"ZAY", b"pheT", b"H4sI", b"zay",
    b"5yTF", b"\\u{73}", b"Ockx", b"73, 0x6", b"'s'", b"6YXk", b"\\u0073", b"\0s\0k\0-",
    b"73:6", b'"sk"',
)  # fmt: skip
# every needle, in the pass's order: what a flood of hits is made of (bench, tests)
TRIGGERS = tuple(sorted(_NEEDLES, key=_PASS_ORDER.index))
_KINDS = [_NEEDLES[needle] for needle in TRIGGERS]
_KEY_PREFIX_INDEX = TRIGGERS.index(KEY_PREFIX)  # a plain key's start, and a concat piece's
_LONGEST = max(map(len, _NEEDLES))
_NESTED3_LONGEST = max(len(needle) for needle, _ in _NESTED3_NEEDLES)
_NESTED3_SPAN = 84  # characters of a key's shortest form under three layers
# one SIMD pass of every needle; a needle whose start is common in code costs a check at
# every such spot (the obfuscator's loop markers ``['push'](`` and ``['shift']()`` cost 8%
# of the pass on the JS tree: they are looked for only when a chunk needs them)
_MATCHER = ahocorasick_rs.BytesAhoCorasick(
    list(TRIGGERS), matchkind=ahocorasick_rs.MatchKind.LeftmostFirst
)


# Base64 three layers deep: its 27 needles, one SIMD pass of their own (22 ms on the 282 MB
# JavaScript tree). Four layers or more: the start of a run (base64_layers.RUN_STARTS, all
# beginning with "V", so the pass is a memchr for "V" and a check: 19 ms there).
_NESTED3_MATCHER = ahocorasick_rs.BytesAhoCorasick(
    [needle for needle, _ in _NESTED3_NEEDLES], matchkind=ahocorasick_rs.MatchKind.LeftmostFirst
)
_RUN_MATCHER = ahocorasick_rs.BytesAhoCorasick(
    list(base64_layers.RUN_STARTS),
    matchkind=ahocorasick_rs.MatchKind.LeftmostFirst,
    implementation=ahocorasick_rs.Implementation.DFA,
)
# the deep-base64 passes' needles: what a flood of their hits is made of (bench, tests)
DEEP_TRIGGERS = (*(needle for needle, _ in _NESTED3_NEEDLES), *base64_layers.RUN_STARTS)
_MAX_PEELED = 64 << 20  # bytes decoded from runs of base64 layers per window, all layers


def _hits(
    data: bytes,
    start: int,
    stop: int,
    matcher: ahocorasick_rs.BytesAhoCorasick = _MATCHER,
    longest: int = _LONGEST,
    step: int = _SLICE,
) -> Iterable[tuple[int, int, int]]:
    """(needle, at, end) of a pass's hits that begin in data[start:stop], ``step`` bytes at
    a time: the list of hits stays bounded (the deep-base64 passes, whose needles are rare,
    take _RARE_SLICE: a few calls per window). A chunk of one step searched whole (most
    files) is one call, whose list is handed over as it is: no generator to run."""
    if start == 0 and stop == len(data) <= step:
        return matcher.find_matches_as_indexes(data)  # every hit begins before stop
    return _sliced_hits(data, start, stop, matcher, longest, step)


def _sliced_hits(
    data: bytes,
    start: int,
    stop: int,
    matcher: ahocorasick_rs.BytesAhoCorasick,
    longest: int,
    step: int,
) -> Iterator[tuple[int, int, int]]:
    view = memoryview(data)
    for lo in range(start, stop, step):
        top = min(stop, lo + step)
        for index, at, end in matcher.find_matches_as_indexes(view[lo : top + longest - 1]):
            if lo + at < top:
                yield index, lo + at, lo + end


def any_trigger(data: bytes) -> bool:
    """Whether data holds a needle of any of the passes (a plain key's prefix among them,
    base64 three layers deep, a run of four or more): without one, neither the passes
    nor the plain-key search finds anything in it."""
    return any(
        matcher.find_matches_as_indexes(data)
        for matcher in (_MATCHER, _NESTED3_MATCHER, _RUN_MATCHER)
    )


def find_encoded(
    data: bytes,
    start: int = 0,
    stop: int | None = None,
    max_payload: int = 64 << 20,
    max_nesting: int = MAX_NESTING,
    base: int = 0,
    on_key_prefix: Callable[[int], bool] | None = None,
) -> Encoded:
    """Encoded keys whose encoding begins in data[start:stop], and payloads to scan whole.

    ``stop == len(data)`` means data ends where the stream ends (the last window); ``base``
    is where data[0] sits in the stream (UTF-16 alignment). ``on_key_prefix`` is told
    where each KEY_PREFIX in data[start:stop] begins, until it answers False: the pass
    finds every one (no other needle can overlap it), so the plain-key search need not
    look again.
    """
    stop = len(data) if stop is None else stop
    result = Encoded()
    decoded: dict[str, int] = {}  # hits decoded, per decoder: a flood of one kind of
    # needle never starves the others
    # javascript-obfuscator's string array: looked for once per chunk, at the first piece
    # of an array that can start a key, when the chunk holds its rotation loop
    array_piece: tuple[int, int] | None = None  # where, and how many keys came before it
    encoded_tried = False  # javascript-obfuscator's base64/rc4 string array: once
    claimed_to = -1  # base64 inside a payload already decoded whole is not decoded again
    for index, at, end in _hits(data, start, stop):
        if index == _KEY_PREFIX_INDEX and on_key_prefix and not on_key_prefix(at):
            on_key_prefix = None  # a flood: the caller searches for itself
        kind, back = _KINDS[index]
        if kind in ("inline-map", "gzip-base64"):
            if len(result.payloads) >= MAX_PAYLOADS:
                result.over_budget += 1
                continue
            payload = _payload(data, at, end, kind, max_payload, stop == len(data))
            if payload is not None:
                result.payloads.append(payload)
                if payload.problem is None:
                    claimed_to = max(claimed_to, payload.end)
            continue
        if kind in (_B64, _NESTED) and at < claimed_to:
            continue
        if kind == "string-array":
            if not encoded_tried:  # the whole chunk is read: once
                encoded_tried = True
                from keysentry.decoders import encoded_array  # its first use: ~3 ms to load

                found = encoded_array.find_keys(data)
                result.keys.extend(k for k in found if start <= k.start < stop)
            continue
        if kind == _NESTED and max_nesting <= 1:  # past the depth limit: said, not decoded
            if _may_hold_key(data, at, kind, back, 2):
                result.deeper(at)
            continue
        if not _may_hold_key(data, at, kind, back, max_nesting):
            if kind == "concat" and array_piece is None and _array_piece(data, at, back):
                array_piece = (at + back, len(result.keys))  # pieces out of order
            continue
        count = decoded.get(kind, 0)
        if count >= MAX_DECODES:
            result.over_budget += 1
            continue
        decoded[kind] = count + 1
        for key in _decode(data, at, end, kind, back, max_nesting, base):
            last = result.keys[-1] if result.keys else None
            if last is None or (key.start, key.key) != (last.start, last.key):
                result.keys.append(key)  # a hit a slice's edge showed twice
    if array_piece is not None and string_array.looks_obfuscated(data):
        piece_at, keys_before = array_piece
        found = string_array.find_keys(data, piece_at)
        result.keys[keys_before:keys_before] = found
    _deep(data, start, stop, max_nesting, result, claimed_to)
    if encoded_tried:  # an array item's base64 is reported at its call, not twice
        called = {k.key for k in result.keys if k.chain[0] == "string-array"}
        if called:
            result.keys = [
                k for k in result.keys if k.chain[0] != "base64-swapcase" or k.key not in called
            ]
    return result


def _deep(
    data: bytes, start: int, stop: int, max_nesting: int, result: Encoded, claimed_to: int
) -> None:
    """Base64 three layers deep (at the key) and four or more (from the run's start)."""
    if len(data) < _NESTED3_SPAN:
        return  # too short to hold a key under three layers
    decodes_left = MAX_DECODES
    for form, at, _ in _hits(data, start, stop, _NESTED3_MATCHER, _NESTED3_LONGEST, _RARE_SLICE):
        quad = at - _NESTED3_NEEDLES[form][1]
        if at < claimed_to or quad < 0:
            continue
        if shapes.nested_base64_key(NESTED3[form]).match(data, quad) is None:
            continue
        if max_nesting <= 2:  # past the depth limit: said, not decoded
            result.deeper(at)
        elif decodes_left <= 0:
            result.over_budget += 1
        else:
            decodes_left -= 1
            result.keys.extend(_nested(data, at, form, max_nesting, 3))
    starts = _hits(data, start, stop, _RUN_MATCHER, 3, _RARE_SLICE)
    if not starts:  # an empty list: no run start in a chunk of one step (most files)
        return
    run_to, peeled_bytes, runs_left = -1, 0, MAX_DECODES
    peeled: list[tuple[int, int, list[DecodedKey]]] = []
    for _, at, _ in starts:
        if at < max(run_to, claimed_to) or (at and data[at - 1] in base64_runs.ALPHABET):
            continue  # not the start of a run
        if not base64_layers.may_hold_key(data, at):
            continue  # too short to hold a key under four layers
        if runs_left <= 0 or peeled_bytes > _MAX_PEELED:
            result.over_budget += 1
            continue
        found = base64_layers.peel(data, at, max_nesting, stop == len(data))
        if found is None:
            continue
        runs_left -= 1
        run_to, peeled_bytes = found.end, peeled_bytes + found.decoded
        if found.cut:
            result.cut_runs += 1
            result.cut_at = at if result.cut_at < 0 else result.cut_at
        if found.too_deep:
            result.deeper(at)
        peeled.append((at, found.end, found.keys))
    for begin, end, keys in peeled:  # a key the passes above found in the run: not twice
        seen = {(k.key, len(k.chain)) for k in result.keys if begin <= k.start < end}
        result.keys.extend(k for k in keys if (k.key, len(k.chain)) not in seen)


def _array_piece(data: bytes, at: int, back: int) -> bool:
    """A literal in an array of strings that can start a key (the hit's "s" at at + back)."""
    if back:  # a whole quoted 's' or 'sk' piece: its own quote opens it, no search needed
        return concat.before_piece(data, at) in concat.ARRAY_LEADS
    return concat.START.match(data, at) is not None and concat.in_array(data, at)


def _may_hold_key(data: bytes, at: int, kind: str, back: int, max_nesting: int) -> bool:
    """The cheap test: can the bytes from this hit be a whole encoded key?"""
    if kind == _B64:
        quad = at - back
        return quad >= 0 and shapes.base64_may_hold_key(data, quad, back, data[at] in b"CnZ")
    if kind == _NESTED:
        quad = at - _NESTED_NEEDLES[back][1]
        if max_nesting <= 1 or quad < 0:
            return False
        return shapes.nested_base64_key(NESTED[back]).match(data, quad) is not None
    if kind == "hex":
        return hex_text.KEY_SHAPE.match(data, at) is not None
    if kind == "concat":
        return concat.SHAPE.match(data, at + back) is not None
    if kind == "utf-16":
        return any(
            p.match(data, s)
            for p, s in ((utf16.BIG, at), (utf16.LITTLE, at + 1), (utf16.LITTLE, at))
        )
    return shapes.escaped_key(kind).match(data, at) is not None


def _decode(
    data: bytes, at: int, end: int, kind: str, back: int, max_nesting: int, base: int
) -> list[DecodedKey]:
    if kind == _B64:
        found = base64_runs.decode_key_at(data, at, end, back)
    elif kind == _NESTED:
        return _nested(data, at, back, max_nesting, 2)
    elif kind == "hex":
        found = hex_text.decode_key_at(data, at)
    elif kind == "concat":
        found = concat.decode_key_at(data, at + back)
    elif kind == "utf-16":
        found = utf16.decode_key_at(data, at, base)
    else:
        found = escapes.decode_key_at(data, at, kind)
    return [] if found is None else [found]


_OUTER_BACK_QUADS = 16  # context in front of the inner "sk-" (3 bytes per quad, twice over)
_OUTER_AHEAD_QUADS = {2: 48, 3: 64}  # the inner key and its context, by layers


def _outer_decoded(data: bytes, quad: int, ahead: int) -> tuple[bytes, int, int]:
    """The outer base64 run around the quad at data[quad] decoded (no line breaks), where
    that quad's bytes start in it, and where the run starts in data."""
    back_from = max(0, quad - 4 * _OUTER_BACK_QUADS)
    behind = data[back_from:quad][::-1]
    run_back = base64_runs.run_end(behind, 0) if behind else 0
    first = quad - run_back // 4 * 4
    last = base64_runs.run_end(data, quad, quad + 4 * ahead)
    try:
        inner = base64_runs.decode_run(data[first:last])
    except (binascii.Error, ValueError):
        return b"", -1, first
    return inner, (quad - first) // 4 * 3, first


def _needle_offset(leads: tuple[int, ...]) -> int:
    """How far into its quad the needle of a key under len(leads) layers starts."""
    if len(leads) == 1:
        return shapes.HIT_BACK[leads[0]]
    return _NESTED_NEEDLES[NESTED.index(leads)][1]


def _nested(data: bytes, at: int, form: int, max_nesting: int, depth: int) -> list[DecodedKey]:
    """A key in the base64 that the base64 around data[at] decodes to (``depth`` layers;
    NESTED[form] or NESTED3[form]: the alignment of each layer)."""
    leads, table = (NESTED, _NESTED_NEEDLES) if depth == 2 else (NESTED3, _NESTED3_NEEDLES)
    inner, inner_quad, first = _outer_decoded(data, at - table[form][1], _OUTER_AHEAD_QUADS[depth])
    if inner_quad < 0:
        return []
    hit = inner_quad + leads[form][-1] + _needle_offset(leads[form][:-1])
    found = find_encoded(inner, hit, hit + 1, max_nesting=max_nesting - 1)
    for key in found.keys:
        if key.chain[0].startswith("base64") and len(key.chain) == depth - 1:
            end = min(len(data), first + -(-key.end * 4 // 3))
            return [DecodedKey(at, end, key.key, ("base64", *key.chain), key.context)]
    return []


def _gzip_header_ok(encoded: bytes) -> str | None:
    """Why base64 that starts like gzip is not gzip, or None (it inflates)."""
    try:
        head = base64_runs.decode_run(encoded[:4096])
        zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
    except (binascii.Error, ValueError, zlib.error) as exc:
        return f"is not gzip data ({exc})"
    return None


def _payload(
    data: bytes, at: int, end: int, kind: str, limit: int, last_window: bool
) -> Payload | None:
    if kind == "inline-map":
        head = data[end : end + 80]
        marker = head.find(b"base64,")
        if marker < 0 or not head.startswith(b"application/json"):
            return None
        begin = end + marker + len(b"base64,")
        doc = "sourcemap"
    else:
        if at > 0 and data[at - 1] in base64_runs.ALPHABET:
            return None  # not the start of a run
        begin, doc = at, "gzip"
    stop = base64_runs.run_end(data, begin)
    if stop - begin < _MIN_PAYLOAD:
        return None
    if doc == "gzip":
        problem = _gzip_header_ok(data[begin : min(stop, begin + 4096)])
        if problem is not None:
            return Payload(begin, stop, b"", doc, problem)
    if stop == len(data) and not last_window:
        return Payload(begin, stop, b"", doc, "runs past the end of the window")
    if (stop - begin) * 3 // 4 > limit:
        return Payload(begin, stop, b"", doc, f"larger than {limit >> 20} MiB")
    return Payload(begin, stop, base64_runs.decode_run(data[begin:stop]), doc)
