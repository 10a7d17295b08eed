"""Reading a small file someone else may have named: a regular file, of bounded size.

A repository's own ``.keysentry.toml`` can name its baseline, and ``keysentry ci`` runs
on pull requests from strangers: ``baseline = "/dev/zero"`` must not fill memory, nor a
FIFO hang the job. Opening with O_NONBLOCK returns at once even for a FIFO nobody
writes to; fstat then says what the path really is.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

CONFIG_LIMIT = 1 << 20  # 1 MiB: a configuration is a few hundred bytes
BASELINE_LIMIT = 16 << 20  # 16 MiB: some 80,000 accepted keys
REPORT_LIMIT = 512 << 20  # 512 MiB: a JSON report of some 500,000 findings (guide --from)


class RefusedFile(Exception):
    """The path is not a regular file, or is over the size limit (the message says which)."""


def _kind(mode: int) -> str:
    """What a path that is not a regular file is, for the message."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def read_small_file(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (symlinks to one are fine).

    Raises RefusedFile for anything else, OSError when it cannot be opened or read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RefusedFile(f"is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise RefusedFile(f"is {info.st_size} bytes, over the limit of {limit} bytes")
        chunks, size = [], 0
        while size <= limit:  # it may grow while it is read
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise RefusedFile(f"grew over the limit of {limit} bytes while it was read")
        return b"".join(chunks)
    finally:
        os.close(fd)
