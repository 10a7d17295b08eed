"""A member of an archive, and what every member reader shares.

Nothing is ever extracted to disk: a member's name is only used in the path findings show
(``app.zip!dist/main.js``), so an odd name is reported, never followed.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from keysentry.containers.limits import CHUNK, Budget, LimitReached, Limits

# a member reader: (stream, limits, budget, skipped(name, why)) -> members, in order
MemberReader = Callable[[BinaryIO, Limits, Budget, Callable[[str, str], None]], Iterator["Member"]]


@dataclass
class Member:
    """A file inside a container: its name there, and its content as a stream."""

    name: str
    stream: BinaryIO
    warnings: list[str] = field(default_factory=list)  # odd but harmless (a ../ name)


def read_bounded(stream: BinaryIO, limit: int, what: str) -> bytes:
    parts, size = [], 0
    while size <= limit:
        part = stream.read(min(CHUNK << 4, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    data = b"".join(parts)
    if len(data) > limit:
        raise LimitReached(f"{what} larger than {limit >> 20} MiB cannot be opened in memory")
    return data


def seekable(stream: BinaryIO, limits: Limits, what: str) -> BinaryIO:
    if stream.seekable():
        return stream
    return io.BytesIO(read_bounded(stream, limits.max_in_memory, what))


def name_warnings(name: str) -> list[str]:
    """What is odd about a member name; nothing is extracted, so it is only reported."""
    parts = name.replace("\\", "/").split("/")
    warnings = []
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        warnings.append("has an absolute path")
    if ".." in parts:
        warnings.append("climbs out of the archive with '..'")
    return warnings
