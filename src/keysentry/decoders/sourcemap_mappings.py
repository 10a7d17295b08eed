"""A source map's ``mappings``: which original file and line a bundle position came from.

Source Map v3: ``mappings`` is one group per generated line (``;``), segments split by
``,``, each a run of base64 VLQ numbers (deltas): generated column, then optionally
source index, original line and original column (and a name). Pure: text in, answer out.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from urllib.parse import urljoin

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


# a segment decoded: generated column, source, original line and original column deltas
# (0 when it has only a column), and whether it names a source
_Shape = tuple[int, int, int, int, bool]


def _shape(segment: str) -> _Shape:
    values = _vlq(segment)
    if len(values) >= 4:
        return values[0], values[1], values[2], values[3], True
    return values[0], 0, 0, 0, False


Place = tuple[int, int]  # a generated line and column, both 1-based


def original_positions(map_text: str, places: list[Place]) -> list[OriginalPosition | None]:
    """Where each generated ``(line, column)`` came from (None where the map does not say),
    the map parsed and its ``mappings`` decoded once for all of them: a bundle with many
    keys costs one pass over its map, not one per key."""
    answers: list[OriginalPosition | None] = [None] * len(places)
    try:
        whole = json.loads(map_text)
    except (ValueError, RecursionError):
        return answers
    if not isinstance(whole, dict) or not isinstance(whole.get("mappings"), str):
        return answers
    sources = whole.get("sources")
    if not isinstance(sources, list):
        return answers
    root = whole.get("sourceRoot") if isinstance(whole.get("sourceRoot"), str) else ""
    wanted: dict[int, list[int]] = {}  # a generated line (0-based) -> indexes into places
    for at, (line, _) in enumerate(places):
        if line >= 1:
            wanted.setdefault(line - 1, []).append(at)
    best: dict[int, tuple[int, int, int]] = {}  # an index into places -> its segment
    lines = max(wanted, default=-1) + 1  # the generated lines to decode
    groups = whole["mappings"].split(";", lines)[:lines]
    source = orig_line = orig_col = 0
    seen: dict[str, _Shape] = {}  # a segment, decoded once (segments repeat)
    try:
        for index, group in enumerate(groups):
            asking = wanted.get(index)
            gen_col = 0
            for segment in group.split(","):
                values = seen.get(segment)
                if values is None:
                    if not segment:
                        continue
                    values = seen[segment] = _shape(segment)
                gen_col += values[0]
                source += values[1]  # 0 for a segment that names no source
                orig_line += values[2]
                orig_col += values[3]
                if asking is None or not values[4]:
                    continue
                for at in asking:
                    if gen_col <= places[at][1] - 1:  # the last such segment wins
                        best[at] = (source, orig_line, orig_col)
    except (KeyError, ValueError, IndexError):
        return answers
    contents = whole.get("sourcesContent")
    lines_of: dict[int, list[str]] = {}
    for at, (index, line, column) in best.items():
        if not 0 <= index < len(sources) or not isinstance(sources[index], str):
            continue
        text = None
        if (
            isinstance(contents, list)
            and index < len(contents)
            and isinstance(contents[index], str)
        ):
            if index not in lines_of:
                lines_of[index] = contents[index].splitlines()
            lines = lines_of[index]
            text = lines[line] if 0 <= line < len(lines) else None
        answers[at] = OriginalPosition(str(root) + sources[index], line + 1, column + 1, text)
    return answers


def relative_to_bundle(map_url: str, source: str) -> str:
    """A map's source name as a path relative to the bundle's folder (the map may sit in
    another folder: ``//# sourceMappingURL=maps/app.js.map``). URLs stay as they are; a
    map on another origin (an absolute ``map_url``) names its sources by URL."""
    if "://" in source or source.startswith("/"):
        return source
    if "://" in map_url:
        return urljoin(map_url, source)
    return posixpath.normpath(posixpath.join(posixpath.dirname(map_url), source))
