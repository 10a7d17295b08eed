"""A ``git cat-file --batch`` reading that goes on past an object git cannot read.

``cat-file --batch`` answers its requests in order and dies on the first object it
cannot inflate (a corrupt loose object, a damaged pack entry). The requests are
known in advance, so the answer git stopped at names the bad object: it is
reported as an ``unreadable`` object (with git's own message) and a new
``cat-file --batch`` is started for the requests after it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from typing import BinaryIO

from keysentry.sources.git_objects import GitObject, ObjectContent

UNREADABLE = "unreadable"  # GitObject.kind of an object git stopped at

# starts ``cat-file --batch`` fed with these requests: (the process, its buffered stdout)
Restart = Callable[[bytes], tuple[subprocess.Popen[bytes], BinaryIO]]
# git's message for a process that stopped (its stderr, first fatal line)
Reason = Callable[[subprocess.Popen[bytes]], str]


def read_resumable(
    proc: subprocess.Popen[bytes],
    stream: BinaryIO,
    requests: bytes,
    restart: Restart,
    reason: Reason,
) -> Iterator[tuple[GitObject, ObjectContent]]:
    """Every answer to ``requests`` (one object id a line), in order, whatever git stops at.

    The caller may read or leave each object's content; one that raises EOFError
    while reading it has met the object git stopped in, and may go on iterating.
    """
    pos, started = 0, [proc]
    try:
        while pos < len(requests):
            end = requests.find(b"\n", pos)
            end = len(requests) if end < 0 else end
            requested = requests[pos:end].decode("ascii", "replace")
            pos = end + 1
            header = stream.readline()
            obj = _parse(header)
            if obj is not None:
                content = ObjectContent(stream, obj.size)
                yield obj, content
                if obj.kind == "missing":
                    continue
                try:
                    content.skip()
                    if stream.read(1) == b"\n":
                        continue
                except EOFError:
                    pass
                requested = obj.oid
            why = _stopped(proc, reason)
            yield GitObject(requested, UNREADABLE, 0, why), ObjectContent(stream, 0)
            if pos >= len(requests):
                return
            proc, stream = restart(requests[pos:])
            started.append(proc)
    finally:
        for each in started[1:]:  # the first is its creator's to close
            if each.stdout is not None:
                each.stdout.close()
            each.wait()


def _parse(header: bytes) -> GitObject | None:
    parts = header.split()
    if len(parts) == 2 and parts[1] == b"missing":
        return GitObject(parts[0].decode("ascii", "replace"), "missing", 0)
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    return GitObject(parts[0].decode("ascii", "replace"), parts[1].decode("ascii"), int(parts[2]))


def _stopped(proc: subprocess.Popen[bytes], reason: Reason) -> str:
    if proc.stdout is not None:
        proc.stdout.close()
    proc.wait()
    return reason(proc) or "git cat-file stopped at this object"
