"""Text base64-encoded again and again: a run decoded whole, layer after layer.

Four layers or more of base64 have no needle of their own at the key (81 alignment
forms for four layers, 729 for six: docs/decoders.md). What they do have is a start:
each layer encodes the whole layer below it, and the first characters of base64 of
base64 text converge (base64 of base64 of base64 of ASCII text starts with ``V``), so a
run encoded four times or more starts with one of a few three-character prefixes
(``RUN_STARTS``; tests/decoders/test_deep_base64.py derives them). At such a run start
the run is decoded whole, and the result again while it is one base64 run (wrapped
lines are followed, as ``base64`` writes them), each decoded layer searched for a plain
key. A key found after k layers reports ``decoded_from`` of k ``base64`` entries, at the
encoded form's start in the outermost run. Past ``max_nesting`` layers nothing more is
decoded: a layer that is still one base64 run there is said to be nested deeper.

Pure: bytes in, keys out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from keysentry.decoders.base64_runs import decode_run
from keysentry.decoders.context import context_text
from keysentry.decoders.decoded_key import DecodedKey
from keysentry.engine.detector import find_candidates

# the three-character starts of text encoded four times or more (standard or URL-safe
# each time) whose innermost text starts with an ASCII character; five layers or more
# start so whatever the text (tests/decoders/test_deep_base64.py derives the table)
RUN_STARTS = (
    b"V0R V0h V1R V1Z V1c V1d V1h V20 V21 V25 V2p V2t V2x VDB VDF VER VEZ VEh VFR VFV VFZ"
    b" VFc VFd VFh VG0 VG1 VG5 VGp VGt VGx VTB VTF VTI VTJ VTN VVR VVZ VVc VVd VVh VW0 VW1"
    b" VW5 VWp VWt VWx VXp VjB VjF VjI VjJ VkR VkV VkZ Vkc Vkd Vkh VlR VlV VlZ Vlc Vld Vlh"
    b" Vm0 Vm1 Vm5 Vmp Vmt Vmx"
).split()
RUN_LAYERS = 4  # layers a run must have for its start to be one of RUN_STARTS
MIN_RUN = 112  # characters of the shortest run holding a key under four layers
_MIN_LAYER = 47  # characters of a key's own base64 (35 bytes, unpadded)
_WRAP_MIN = 60  # shortest line width taken for a wrapped run (base64(1) writes 76)
_LINE = re.compile(rb"[A-Za-z0-9+/_-]*")
_PAD = re.compile(rb"={0,2}")
_LINE_ENDS = (b"", b"\n", b"\r", b'"', b"'")  # what ends a wrapped run's line
_PURE = re.compile(rb"[A-Za-z0-9+/_-]+={0,2}")


@dataclass(frozen=True)
class _Layer:
    """One layer's base64, unwrapped: body[j] sits at raw offset lines[j // width] + j % width."""

    body: bytes
    lines: tuple[int, ...]  # where each line starts in the layer's raw bytes
    width: int  # characters per full line (the whole body when on one line)

    def raw(self, j: int) -> int:
        line = min(j // self.width, len(self.lines) - 1) if self.width else 0
        return self.lines[line] + j - line * self.width


def _run(raw: bytes, at: int) -> tuple[_Layer, int]:
    """The base64 run from raw[at] (its wrapped lines followed) and where it ends."""
    end = _LINE.match(raw, at).end()  # type: ignore[union-attr] (matches the empty string)
    width, lines, parts = end - at, [at], [raw[at:end]]
    if width >= _WRAP_MIN and width % 4 == 0:
        while True:
            newline = 2 if raw.startswith(b"\r\n", end) else int(raw.startswith(b"\n", end))
            if not newline:
                break
            stop = _LINE.match(raw, end + newline).end()  # type: ignore[union-attr]
            length = stop - end - newline
            after = _PAD.match(raw, stop).end()  # type: ignore[union-attr]
            if not 0 < length <= width or raw[after : after + 1] not in _LINE_ENDS:
                break  # not a line of the run: text after it (``plain: …``)
            lines.append(end + newline)
            parts.append(raw[end + newline : stop])
            end = stop
            if length < width:
                break
    end = _PAD.match(raw, end).end()  # type: ignore[union-attr]
    body = b"".join(parts) + raw[lines[-1] + len(parts[-1]) : end]
    return _Layer(body, tuple(lines), width if len(lines) > 1 else 0), end


def may_hold_key(data: bytes, at: int) -> bool:
    """The cheap test: the run from data[at] is long enough, or its first line could be a
    wrapped run's."""
    line = _LINE.match(data, at, at + MIN_RUN).end() - at  # type: ignore[union-attr]
    return line >= MIN_RUN or (line >= _WRAP_MIN and data[at + line : at + line + 1] in b"\r\n")


def _whole_run(raw: bytes) -> _Layer | None:
    """raw as one base64 run (a decoded layer that is base64 again), or None."""
    text = raw.rstrip(b"\r\n")
    if len(text) < _MIN_LAYER:
        return None
    layer, end = _run(text, 0)
    if end != len(text) or _PURE.fullmatch(layer.body) is None:
        return None
    return layer


@dataclass
class Peeled:
    """What a run decoded layer after layer holds."""

    end: int  # where the outermost run ends in the chunk
    keys: list[DecodedKey] = field(default_factory=list)
    too_deep: bool = False  # still one base64 run after max_nesting layers: not decoded
    cut: bool = False  # the run goes on past the chunk: not decoded
    decoded: int = 0  # bytes decoded, every layer counted


def peel(data: bytes, at: int, max_nesting: int, whole: bool) -> Peeled | None:
    """The keys in the run that starts at data[at], decoded layer after layer (at most
    max_nesting); None when it is too short to hold a key under four layers. ``whole``
    says data ends where the stream does (a run reaching its end is complete)."""
    outer, end = _run(data, at)
    if len(outer.body) < MIN_RUN:
        return None
    result = Peeled(end)
    if end == len(data) and not whole:
        result.cut = True
        return result
    chain: list[_Layer] = [outer]  # the layers above the one being searched, outermost first
    layer = outer
    for depth in range(1, max_nesting + 1):
        raw = decode_run(layer.body)
        result.decoded += len(raw)
        for cand in find_candidates(raw):
            start, stop = _outside(chain, cand.start, cand.end)
            context = context_text(raw, cand.start, cand.end)
            result.keys.append(
                DecodedKey(at + start, at + stop, cand.key, ("base64",) * depth, context)
            )
        inner = _whole_run(raw)
        if inner is None:
            return result
        chain.append(inner)
        layer = inner
    result.too_deep = True
    return result


def _outside(chain: list[_Layer], start: int, end: int) -> tuple[int, int]:
    """Where decoded[start:end] of the innermost layer of chain sits in the outermost
    layer's raw bytes (relative to the run's start)."""
    for layer in reversed(chain):
        start = layer.raw(start // 3 * 4)
        end = layer.raw(max(0, -(-end * 4 // 3) - 1)) + 1
    return start - chain[0].lines[0], end - chain[0].lines[0]
