"""javascript-obfuscator's ``--string-array-calls-transform``: the literal arguments of
string-array calls moved into objects of the calling scope, read back in place.

With the option each scope gets objects of numbers and strings, and the calls (and the
function wrappers' index shifts) read them::

    function headers(){const a0_0x57d5={_0x3818:0x150,_0x2f:'wuS@'},_0x5876=a0_0x56b0;
        return {'Authorization':_0x5876(a0_0x57d5._0x3818,a0_0x57d5._0x2f)};}

``inline`` writes each ``object._prop`` (or ``object['_prop']``) whose object is such a
literal back as the literal it names, so the readers of calls and wrappers
(decoders/wrapper_calls.py, array_rotation.py) see ``_0x5876(0x150,'wuS@')``. Scopes are
honoured: a reference reads the declaration of its name in the innermost enclosing
block that declares it before the reference (the obfuscator gives every function its own
object, and names repeat across scopes with ``--identifier-names-generator mangled``);
a name no enclosing block declares is left as it is. Blocks are told by braces outside
string literals. Bounded: at most MAX_OBJECTS objects and MAX_REFERENCES references per
chunk, properties of at most 64 characters.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

MAX_OBJECTS = 4096
MAX_REFERENCES = 65536
_VALUE = rb"-?0x[0-9a-fA-F]{1,8}|-?\d{1,10}|'[^'\\\n]{0,64}'|\"[^\"\\\n]{0,64}\""
_PROPERTY = rb"[\w$]{1,64}\s*:\s*(?:" + _VALUE + rb")"
_OBJECT = re.compile(
    rb"(?<![\w$])([\w$]+)\s*=\s*\{\s*(" + _PROPERTY + rb"(?:\s*,\s*" + _PROPERTY + rb")*)\s*,?\s*\}"
)
_PAIR = re.compile(rb"([\w$]{1,64})\s*:\s*(" + _VALUE + rb")")
_REFERENCE = re.compile(rb"(?<![\w$.])([\w$]+)(?:\.([\w$]{1,64})|\[\s*'([\w$]{1,64})'\s*\])")
# what a block is made of: string literals (their braces do not count) and braces
_TOKEN = re.compile(rb"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|`(?:[^`\\]|\\.)*`|[{}]")


@dataclass(frozen=True)
class _Object:
    at: int  # where the declaration starts
    block: int  # the opening brace of its enclosing block (-1: the chunk)
    values: dict[bytes, bytes]


@dataclass(frozen=True)
class Inlined:
    """The chunk with the references written as literals, and how to map offsets back."""

    data: bytes
    _new: tuple[int, ...] = ()  # where each replacement ends in data
    _shift: tuple[int, ...] = ()  # bytes removed up to there

    def original(self, offset: int) -> int:
        """Where data[offset] was in the chunk given to inline."""
        i = bisect.bisect_right(self._new, offset)
        return offset + (self._shift[i - 1] if i else 0)


def _blocks(data: bytes, points: list[int]) -> tuple[list[int], dict[int, int]]:
    """For each of points (sorted), the innermost brace open there (-1 for none); and each
    opening brace's closing one."""
    stack: list[int] = []
    closing: dict[int, int] = {}
    inside: list[int] = []
    pending = iter(points)
    point = next(pending, None)
    for token in _TOKEN.finditer(data):
        while point is not None and point < token.start():
            inside.append(stack[-1] if stack else -1)
            point = next(pending, None)
        if token[0] == b"{":
            stack.append(token.start())
        elif token[0] == b"}" and stack:
            closing[stack.pop()] = token.start()
    while point is not None:
        inside.append(stack[-1] if stack else -1)
        point = next(pending, None)
    return inside, closing


def inline(data: bytes) -> Inlined:
    """data with every reference to a calls-transform object written as its literal."""
    if b"={" not in data and b"= {" not in data:
        return Inlined(data)
    found = [m for _, m in zip(range(MAX_OBJECTS), _OBJECT.finditer(data), strict=False)]
    if not found:
        return Inlined(data)
    names = {m[1] for m in found}
    refs = [
        m
        for _, m in zip(range(MAX_REFERENCES), _REFERENCE.finditer(data), strict=False)
        if m[1] in names
    ]
    points = sorted({m.start() for m in found} | {m.start() for m in refs})
    inside, closing = _blocks(data, points)
    block_of = dict(zip(points, inside, strict=True))
    by_name: dict[bytes, list[_Object]] = {}
    for m in found:
        values = {p[1]: p[2] for p in _PAIR.finditer(m[2])}
        by_name.setdefault(m[1], []).append(_Object(m.start(), block_of[m.start()], values))
    parts: list[bytes] = []
    ends: list[int] = []
    shifts: list[int] = []
    taken, removed = 0, 0
    for ref in refs:
        value = _lookup(by_name[ref[1]], ref.start(), closing)
        literal = None if value is None else value.get(ref[2] or ref[3])
        if literal is None or ref.start() < taken:
            continue
        parts += [data[taken : ref.start()], literal]
        removed += len(ref[0]) - len(literal)
        taken = ref.end()
        ends.append(taken - removed)
        shifts.append(removed)
    if not parts:
        return Inlined(data)
    parts.append(data[taken:])
    return Inlined(b"".join(parts), tuple(ends), tuple(shifts))


def _lookup(objects: list[_Object], at: int, closing: dict[int, int]) -> dict[bytes, bytes] | None:
    """The values of the declaration a reference at ``at`` sees: declared before it, in
    the innermost block that holds both."""
    best: _Object | None = None
    for obj in objects:
        if obj.at >= at:
            break
        encloses = obj.block == -1 or (obj.block <= at < closing.get(obj.block, 1 << 62))
        if encloses and (best is None or obj.block >= best.block):
            best = obj
    return None if best is None else best.values
