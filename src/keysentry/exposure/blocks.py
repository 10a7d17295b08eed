"""The object keys and functions around a key: ``runtimeConfig: { public: { key: "sk-…" } }``
gives ``["public", "runtimeConfig"]``, so one file can hold a client key and a server key.

Read backwards from the key over at most ``REACH`` bytes, counting brackets; strings and
comments are not parsed (a brace inside a string can mislead it, which costs a signal,
never a finding).
"""

from __future__ import annotations

from keysentry.model.pattern import lazy

REACH = 64 * 1024
_OPEN = {ord("{"): ord("}"), ord("["): ord("]"), ord("("): ord(")")}
_CLOSE = frozenset(_OPEN.values())
_SPACE = frozenset(b" \t\r\n")
_BRACKET = lazy(rb"[{}\[\]()]")


def _is_name(byte: int) -> bool:
    return byte == ord("_") or byte == ord("$") or chr(byte).isalnum()


def _skip_space(data: bytes, i: int, lo: int) -> int:
    while i >= lo and data[i] in _SPACE:
        i -= 1
    return i


def _name_before(data: bytes, i: int, lo: int) -> tuple[str, int]:
    """The identifier or quoted name ending at data[i]; and where it starts."""
    i = _skip_space(data, i, lo)
    if i >= lo and data[i] in (ord('"'), ord("'")):
        quote, end = data[i], i
        i -= 1
        while i >= lo and data[i] != quote:
            i -= 1
        return data[i + 1 : end].decode("ascii", "replace"), i - 1
    end = i
    while i >= lo and (_is_name(data[i]) or data[i] == ord(".")):
        i -= 1
    return data[i + 1 : end + 1].decode("ascii", "replace").rsplit(".", 1)[-1], i


def _skip_group(data: bytes, i: int, lo: int) -> int:
    """From a closing ``)`` at data[i] back to before its opening ``(``."""
    depth = 0
    while i >= lo:
        if data[i] == ord(")"):
            depth += 1
        elif data[i] == ord("("):
            depth -= 1
            if depth == 0:
                return i - 1
        i -= 1
    return i


def _opener_name(data: bytes, i: int, lo: int) -> str:
    """The name that opened the ``{`` at data[i]: a key, a callee or a function."""
    i = _skip_space(data, i - 1, lo)
    if i < lo:
        return ""
    byte = data[i]
    if byte == ord("("):  # Plugin({ ... }) / defineConfig({ ... })
        return _name_before(data, i - 1, lo)[0]
    if byte in (ord(":"), ord("=")):  # key: { / key = {
        return _name_before(data, i - 1, lo)[0]
    if byte == ord(">") and i > lo and data[i - 1] == ord("="):  # name = (...) => {
        i = _skip_space(data, i - 2, lo)
        if i >= lo and data[i] == ord(")"):
            i = _skip_group(data, i, lo)
        else:
            i = _name_before(data, i, lo)[1]
        i = _skip_space(data, i, lo)
        name, i = _name_before(data, i, lo)
        if name == "async":
            i = _skip_space(data, i, lo)
        if i >= lo and data[i] in (ord("="), ord(":")):
            return _name_before(data, i - 1, lo)[0]
        return name
    if byte == ord(")"):  # function name(...) { / name(...) {
        return _name_before(data, _skip_group(data, i, lo), lo)[0]
    return ""


def enclosing_names(data: bytes, offset: int) -> list[str]:
    """The names of the blocks around data[offset], innermost first."""
    lo = max(0, offset - REACH)
    names: list[str] = []
    pending = 0  # closers seen and not yet matched (any bracket kind)
    brackets = [m.start() for m in _BRACKET.finditer(data, lo, offset)]
    for i in reversed(brackets):
        byte = data[i]
        if byte in _CLOSE:
            pending += 1
        elif pending:
            pending -= 1
        elif byte == ord("{"):
            name = _opener_name(data, i, lo)
            if name:
                names.append(name)
    return names
