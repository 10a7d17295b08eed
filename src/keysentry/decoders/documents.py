"""Documents inside documents: a source map's ``sourcesContent`` and a notebook's cells.

The keys in them are found by the ordinary scan of the file (or of the decoded
inline map); this module says which original source, or which cell, each
position of the raw JSON belongs to, so a finding can name it.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import json

MAX_DOCUMENT = 64 << 20  # larger maps and notebooks are scanned without naming their parts


@functools.cache
def _decoder() -> json.JSONDecoder:
    import json  # with the first document: most scans meet none, and json's import is not free

    return json.JSONDecoder()


@dataclass(frozen=True)
class Part:
    """An embedded document at raw[start:end] of the JSON (byte offsets)."""

    start: int
    end: int
    name: str  # the original source's name, or "cell 3"
    notebook_cell: int | None = None


def kind_of(path: str) -> str | None:
    lower = path[-6:].lower()  # the name's ending (a member's: ``a.zip!b.map``) is enough
    if lower.endswith(".map"):
        return "sourcemap"
    if lower.endswith(".ipynb"):
        return "notebook"
    return None


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _value_after_key(text: str, key: str, start: int = 0, stop: int | None = None) -> int:
    """Where the value of "key" begins in a JSON object's raw text, or -1."""
    stop = len(text) if stop is None else stop
    needle = f'"{key}"'
    pos = text.find(needle, start, stop)
    while pos >= 0:
        colon = _skip_space(text, pos + len(needle))
        if colon < stop and text[colon] == ":":
            return _skip_space(text, colon + 1)
        pos = text.find(needle, pos + 1, stop)
    return -1


def _array_items(text: str, pos: int) -> list[tuple[int, int]]:
    """The character spans of the items of the JSON array starting at text[pos]."""
    spans: list[tuple[int, int]] = []
    if pos < 0 or pos >= len(text) or text[pos] != "[":
        return spans
    pos = _skip_space(text, pos + 1)
    while pos < len(text) and text[pos] != "]":
        _, end = _decoder().raw_decode(text, pos)
        spans.append((pos, end))
        pos = _skip_space(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_space(text, pos + 1)
    return spans


class _ByteOffsets:
    """Character offsets of a decoded text to byte offsets of its UTF-8 source. Each
    answer encodes only the text between it and the previous one (offsets are asked
    in order, mostly): encoding from the start each time made a 7 MB non-ASCII map of
    1,000 sources take 9 s."""

    def __init__(self, text: str, ascii_only: bool) -> None:
        self._text, self._ascii = text, ascii_only
        self._char = self._byte = 0  # the previous answer

    def __call__(self, index: int) -> int:
        if self._ascii:
            return index
        if index >= self._char:
            self._byte += len(self._text[self._char : index].encode("utf-8", "surrogateescape"))
        else:
            self._byte -= len(self._text[index : self._char].encode("utf-8", "surrogateescape"))
        self._char = index
        return self._byte


def parts(kind: str, raw: bytes) -> list[Part]:
    """The embedded documents of a source map or notebook; [] when it is not one."""
    text = raw.decode("utf-8", "surrogateescape")
    try:
        whole = _decoder().decode(text)
    except (ValueError, RecursionError):
        return []
    if not isinstance(whole, dict):
        return []
    offsets = _ByteOffsets(text, raw.isascii())
    try:
        if kind == "sourcemap":
            return _sourcemap_parts(text, whole, offsets)
        return _notebook_parts(text, offsets)
    except (ValueError, RecursionError):
        return []


def _sourcemap_parts(text: str, whole: dict[str, object], offsets: _ByteOffsets) -> list[Part]:
    sources = whole.get("sources")
    root = whole.get("sourceRoot") or ""
    if not isinstance(sources, list) or not isinstance(root, str):
        return []
    found = []
    contents = _array_items(text, _value_after_key(text, "sourcesContent"))
    for index, (start, end) in enumerate(contents):
        name = sources[index] if index < len(sources) and isinstance(sources[index], str) else ""
        found.append(Part(offsets(start), offsets(end), root + name or f"source {index}"))
    return found


def _notebook_parts(text: str, offsets: _ByteOffsets) -> list[Part]:
    found = []
    for index, (start, end) in enumerate(_array_items(text, _value_after_key(text, "cells"))):
        source = _value_after_key(text, "source", start, end)
        if source >= 0:
            _, source_end = _decoder().raw_decode(text, source)
            found.append(Part(offsets(source), offsets(source_end), f"cell {index + 1}", index + 1))
        found.append(Part(offsets(start), offsets(end), f"cell {index + 1} output", index + 1))
    found.sort(key=lambda p: (p.start, -p.end))
    return found


def locate(found: list[Part], raw: bytes, offset: int) -> tuple[Part, int] | None:
    """The innermost part holding raw[offset], and the line of offset inside it (1-based)."""
    starts = [p.start for p in found]
    best = None
    for index in range(bisect.bisect_right(starts, offset) - 1, -1, -1):
        part = found[index]
        if part.start <= offset < part.end and (best is None or part.start >= best.start):
            best = part
            break
    if best is None:
        return None
    # each line of an embedded text ends with a JSON "\n" escape (notebooks: one string a line)
    return best, raw.count(b"\\n", best.start, offset) + 1
