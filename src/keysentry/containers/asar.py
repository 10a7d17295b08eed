"""Electron .asar archives: a pickled JSON header, then the files' bytes."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from keysentry.containers.limits import Budget, ContainerError, Limits
from keysentry.containers.members import Member, name_warnings, seekable


def _asar_files(tree: dict[str, Any], prefix: str) -> Iterator[tuple[str, int, int]]:
    for name, node in tree.get("files", {}).items():
        path = f"{prefix}{name}"
        if not isinstance(node, dict):
            continue
        if "files" in node:
            yield from _asar_files(node, path + "/")
        elif "offset" in node and not node.get("unpacked"):
            yield path, int(node["offset"]), int(node.get("size", 0))


def asar_members(
    stream: BinaryIO, limits: Limits, budget: Budget, skipped: Callable[[str, str], None]
) -> Iterator[Member]:
    """Files of an Electron .asar: a pickled JSON header, then the files' bytes."""
    import json
    import struct

    source = seekable(stream, limits, "a nested asar")
    try:
        _, header_size, _, json_size = struct.unpack("<4I", source.read(16))
        if json_size > limits.max_in_memory:
            raise ValueError(f"a header of {json_size} bytes")
        header = json.loads(source.read(json_size))
        files = sorted(_asar_files(header, ""), key=lambda f: f[1])
    except (struct.error, ValueError, TypeError, AttributeError) as exc:
        raise ContainerError(f"not a readable asar archive ({exc})") from exc
    base = 8 + header_size
    for name, offset, size in files:
        source.seek(base + offset)
        data = source.read(size)
        if len(data) < size:
            raise ContainerError(f"truncated asar archive: {name} ends early")
        yield Member(name, io.BytesIO(data), name_warnings(name))
