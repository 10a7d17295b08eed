"""Calls of javascript-obfuscator's string-array accessor, through its function wrappers,
read without running them.

With ``--string-array-wrappers-type function`` each scope gets small functions that
forward to the accessor (or to an outer wrapper) with the index shifted and the
parameters reordered, padded with fake ones::

    function a0_0x54a346(_0x4fd6a1,_0x23f2ee){return a0_0x32cd(_0x4fd6a1- -0x135,_0x23f2ee);}
    function _0x36d345(_0x637b,_0x2e85){return a0_0x1a898a(_0x637b,_0x2e85- -0x2ed);}
    ... _0x36d345('1[0^',-0x19c) ...

Each wrapper's body is one ``return target(arg, …)`` whose arguments are a parameter,
optionally minus a literal: a call is resolved by substituting the literals of the call,
hop by hop, until the target is not a wrapper; that call's first argument is the
accessor's index and its second the rc4 key (a string), if any. Arithmetic follows
JavaScript for what the obfuscator writes: a number, or a string of a hexadecimal number
(``--string-array-indexes-type hexadecimal-numeric-string``), minus a number; anything
else is not a number and the call is not resolved. Hand-written: one regular expression
per shape, bounded (MAX_WRAPPERS definitions, MAX_HOPS hops, arguments of bounded
length), no tokenizer needed for a grammar this small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_WRAPPERS = 4096  # wrapper definitions read per chunk
MAX_HOPS = 16  # wrappers one call goes through (the obfuscator nests one per scope)
MAX_PARAMETERS = 10  # --string-array-wrappers-parameters-max-count is at most 5
_NUMBER = rb"-?\s*(?:0x[0-9a-fA-F]{1,8}|'0x[0-9a-fA-F]{1,8}')"  # -'0x1a' is -26 too
_TEXT = rb"'[^'\\\n]{0,64}'|\"[^\"\\\n]{0,64}\""
_ARG = rb"(?:" + _NUMBER + rb"|" + _TEXT + rb")"
# a call with literal arguments only: the accessor's, or a wrapper's. It begins where a
# name begins: tried inside a name too, a long run of name characters cost the search a
# try of the rest of the run at each of them (quadratic: 9 s for 40 KB of 'a')
NAME_START = rb"(?<![\w$])"
_MORE = b"{0,%d}" % (MAX_PARAMETERS - 1)
CALL = NAME_START + rb"[\w$]+\(\s*" + _ARG + rb"(?:\s*,\s*" + _ARG + rb")" + _MORE + rb"\s*\)"
_CALL_PARTS = re.compile(
    rb"([\w$]+)\(\s*(" + _ARG + rb"(?:\s*,\s*" + _ARG + rb")" + _MORE + rb")\s*\)"
)
_ARGS = re.compile(rb"\s*(" + _ARG + rb")\s*(?:,|$)")
_WRAPPER = re.compile(
    rb"function\s*([\w$]+)\s*\(\s*([\w$]+(?:\s*,\s*[\w$]+)" + _MORE + rb")\s*\)\s*\{\s*"
    # --string-array-calls-transform declares its object first (calls_transform.py)
    rb"(?:(?:const|let|var)\s+[\w$]+\s*=\s*\{[^{}]{0,2000}\}\s*;\s*)?return\s+"
    rb"([\w$]+)\s*\(([\w$\s,'+-]{1,400})\)\s*;?\s*\}"
)
_FORWARD = re.compile(rb"\s*([\w$]+)\s*(?:-\s*(-?)\s*'?(0x[0-9a-fA-F]{1,8}|\d{1,10})'?)?\s*$")
_HEX_TEXT = re.compile(r"-?0x[0-9a-fA-F]{1,8}$")

Value = int | str
Forward = tuple[int, int | None]  # (parameter, amount subtracted) or no arithmetic


@dataclass(frozen=True)
class Wrapper:
    """function name(params){return target(args)}: each arg is one parameter, maybe shifted."""

    target: bytes
    forwards: tuple[Forward, ...]


@dataclass(frozen=True)
class Call:
    """The accessor's call a site comes to: the index and the rc4 key (None with base64)."""

    index: int
    key: str | None


Wrappers = dict[bytes, Wrapper]  # by name


def wrappers(data: bytes) -> Wrappers:
    """Every function wrapper defined in data, by name; a name defined in two scopes (short
    ``--identifier-names-generator mangled`` names) keeps its first definition."""
    found: dict[bytes, Wrapper] = {}
    for match in _WRAPPER.finditer(data):
        params = [p.strip() for p in match[2].split(b",")]
        forwards: list[Forward] = []
        for arg in match[4].split(b","):
            part = _FORWARD.match(arg)
            if part is None or part[1] not in params:
                break
            amount = None if part[3] is None else int(part[3], 0) * (-1 if part[2] else 1)
            forwards.append((params.index(part[1]), amount))
        else:
            found.setdefault(match[1], Wrapper(match[3], tuple(forwards)))
            if len(found) >= MAX_WRAPPERS:
                break
    return found


def _literal(arg: bytes) -> Value:
    if arg[:1] in (b"'", b'"'):
        return arg[1:-1].decode("latin-1")
    return int(arg.replace(b" ", b"").replace(b"'", b""), 0)


def _number(value: Value | None) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _HEX_TEXT.match(value):
        return int(value, 0)
    return None  # NaN in JavaScript


def _forward(wrapper: Wrapper, values: list[Value | None]) -> list[Value | None]:
    out: list[Value | None] = []
    for param, amount in wrapper.forwards:
        value = values[param] if param < len(values) else None
        if amount is not None:
            number = _number(value)
            value = None if number is None else number - amount
        out.append(value)
    return out


def resolve(call: bytes, known: Wrappers) -> Call | None:
    """The accessor call that a call with literal arguments comes to, or None (the index
    is not a number, the wrappers loop, or it is not the accessor's shape)."""
    match = _CALL_PARTS.fullmatch(call)
    if match is None:
        return None
    name = match[1]
    args: list[Value | None] = [_literal(a) for a in _ARGS.findall(match[2])]
    hops = 0
    while name in known:
        if hops >= MAX_HOPS:
            return None
        wrapper = known[name]
        name, args, hops = wrapper.target, _forward(wrapper, args), hops + 1
    index = _number(args[0]) if args else None
    key = args[1] if len(args) > 1 and isinstance(args[1], str) else None
    if key is not None and _HEX_TEXT.match(key):
        key = None  # a fake index (--string-array-indexes-type hexadecimal-numeric-string)
    if index is None or (hops == 0 and (index < 0 or len(args) > 1 + (key is not None))):
        return None  # called directly: the accessor's own shape, (index) or (index, key)
    return Call(index, key)
