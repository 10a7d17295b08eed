"""A source map's ``mappings``: which original file and line a bundle position came from.

Source Map v3: ``mappings`` is one group per generated line (``;``), segments split by
``,``, each a run of base64 VLQ numbers (deltas): generated column, then optionally
source index, original line and original column (and a name). Pure: text in, answer out.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass

_BASE64 = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}
MAX_MAP_BYTES = 64 * 1024 * 1024  # a larger map is not read to place one key


@dataclass(frozen=True)
class OriginalPosition:
    source: str  # as the map names it (``sourceRoot`` + ``sources[i]``)
    line: int  # 1-based
    column: int  # 1-based
    content: str | None  # the original line's text, when ``sourcesContent`` holds it


def _vlq(segment: str) -> list[int]:
    """The signed numbers of one segment; ValueError on a character outside base64."""
    values: list[int] = []
    value = shift = 0
    for char in segment:
        digit = _BASE64[char]  # KeyError -> caller
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        values.append(-(value >> 1) if value & 1 else value >> 1)
        value = shift = 0
    if shift:
        raise ValueError("segment ends inside a number")
    return values


def original_position(map_text: str, line: int, column: int) -> OriginalPosition | None:
    """Where generated ``line``:``column`` (1-based) came from; None when the map does not say."""
    try:
        whole = json.loads(map_text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(whole, dict) or not isinstance(whole.get("mappings"), str):
        return None
    sources = whole.get("sources")
    if not isinstance(sources, list):
        return None
    root = whole.get("sourceRoot") if isinstance(whole.get("sourceRoot"), str) else ""
    groups = whole["mappings"].split(";")
    source = orig_line = orig_col = 0
    best: tuple[int, int, int] | None = None
    try:
        for index, group in enumerate(groups[:line]):
            gen_col = 0
            for segment in filter(None, group.split(",")):
                values = _vlq(segment)
                gen_col += values[0]
                if len(values) >= 4:
                    source += values[1]
                    orig_line += values[2]
                    orig_col += values[3]
                    if index == line - 1 and gen_col <= column - 1:
                        best = (source, orig_line, orig_col)
    except (KeyError, ValueError, IndexError):
        return None
    if best is None or not 0 <= best[0] < len(sources) or not isinstance(sources[best[0]], str):
        return None
    contents = whole.get("sourcesContent")
    text = None
    if (
        isinstance(contents, list)
        and best[0] < len(contents)
        and isinstance(contents[best[0]], str)
    ):
        lines = contents[best[0]].splitlines()
        text = lines[best[1]] if 0 <= best[1] < len(lines) else None
    return OriginalPosition(str(root) + sources[best[0]], best[1] + 1, best[2] + 1, text)


def relative_to_bundle(map_url: str, source: str) -> str:
    """A map's source name as a path relative to the bundle's folder (the map may sit in
    another folder: ``//# sourceMappingURL=maps/app.js.map``). URLs stay as they are."""
    if "://" in source or source.startswith("/"):
        return source
    return posixpath.normpath(posixpath.join(posixpath.dirname(map_url), source))
