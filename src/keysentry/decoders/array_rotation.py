"""The rotation of javascript-obfuscator's string array, read from its start-up loop
without running it.

The loop (``while(!![]){try{const x=parseInt(f(0x9a))/0x1*(-parseInt(f(0x86))/0x2)+…;
if(x===y)break;else a['push'](a['shift']());}…}(arr,0xd4943)``) rotates the array by one
until an arithmetic checksum of ``parseInt`` over some items equals the literal target.
Here the expression is parsed (numbers, ``+ - * /``, parentheses, ``parseInt(call)``, the
call read through any function wrappers: decoders/wrapper_calls.py) and evaluated for
each rotation, as JavaScript would (IEEE doubles; ``parseInt`` of text that does not
start with digits is NaN): the rotation whose value equals the target is the
one the program runs with. Anything else in the expression, or no such loop: None.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from keysentry.decoders import wrapper_calls

_LOOP = re.compile(
    rb"while\s*\(\s*!!\[\]\s*\)\s*\{\s*try\s*\{\s*(?:const|var|let)\s+[\w$]+\s*=\s*"
    rb"([^;{}]{1,4000});\s*if\s*\(\s*[\w$]+\s*===\s*[\w$]+\s*\)\s*break"
)
_TARGET = re.compile(rb"\}\s*\(\s*[\w$]+\s*,\s*(0x[0-9a-fA-F]+|\d+)\s*\)\s*\)")
_TOKEN = re.compile(
    rb"\s*(?:(parseInt)\s*\(\s*(" + wrapper_calls.CALL + rb")\s*\)"
    rb"|(0x[0-9a-fA-F]+|\d+(?:\.\d+)?)|([-+*/()]))"
)
_INT = re.compile(r"\s*([-+]?\d+)")

Token = tuple[str, float]  # ("call", index) / ("num", value) / (operator, 0)


def _tokens(expression: bytes, known: wrapper_calls.Wrappers) -> list[Token] | None:
    out: list[Token] = []
    at = 0
    expression = expression.strip()
    while at < len(expression):
        match = _TOKEN.match(expression, at)
        if match is None or match.end() == at:
            return None
        if match[1]:
            call = wrapper_calls.resolve(match[2], known)
            if call is None:
                return None
            out.append(("call", call.index))
        elif match[3]:
            text = match[3].decode()
            out.append(("num", float(int(text, 16)) if text.startswith("0x") else float(text)))
        else:
            out.append((match[4].decode(), 0.0))
        at = match.end()
    return out


def _parse_int(text: str | None) -> float:
    match = _INT.match(text or "")
    return float(int(match[1])) if match else math.nan


def _apply(op: str, left: float, right: float) -> float:
    """One operation as JavaScript does it on doubles (x/0 is an infinity, 0/0 NaN)."""
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0:
        if left == 0 or math.isnan(left):
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


def _evaluate(tokens: list[Token], item: Callable[[int], str | None]) -> float:
    """The expression's value; ValueError when it is not the shape expected."""
    at = 0

    def peek() -> str:
        return tokens[at][0] if at < len(tokens) else ""

    def primary() -> float:
        nonlocal at
        kind, value = tokens[at]
        at += 1
        if kind == "num":
            return value
        if kind == "call":
            return _parse_int(item(int(value)))
        if kind == "-":
            return -primary()
        if kind == "+":
            return primary()
        if kind == "(":
            inner = addition()
            if peek() != ")":
                raise ValueError("unbalanced")
            at += 1
            return inner
        raise ValueError(kind)

    def binary(operand: Callable[[], float], operators: tuple[str, str]) -> float:
        nonlocal at
        value = operand()
        while peek() in operators:
            op = tokens[at][0]
            at += 1
            value = _apply(op, value, operand())
        return value

    def product() -> float:
        return binary(primary, ("*", "/"))

    def addition() -> float:
        return binary(product, ("+", "-"))

    try:
        value = addition()
    except IndexError as exc:
        raise ValueError("cut short") from exc
    if at != len(tokens):
        raise ValueError("trailing tokens")
    return value


def rotation(
    data: bytes,
    items: list[str | None],
    offsets: set[int],
    known: wrapper_calls.Wrappers | None = None,
) -> Callable[[int], int] | None:
    """slot(index) of the array as the program reads it, or None if not known."""
    loop = _LOOP.search(data)
    if loop is None:
        return None
    target_match = _TARGET.search(data, loop.end())
    tokens = _tokens(loop[1], {} if known is None else known)
    if target_match is None or not tokens:
        return None
    target = float(int(target_match[1], 0))
    size = len(items)
    for offset in sorted(offsets):
        for shift in range(size):
            try:
                value = _evaluate(tokens, lambda i, o=offset, s=shift: items[(i - o + s) % size])
            except ValueError:
                return None
            if value == target:
                return lambda index, o=offset, s=shift: (index - o + s) % size
    return None
