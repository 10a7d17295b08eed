"""Object data from git's batch protocol: every object once, each in bounded memory.

``git cat-file --batch`` writes ``<oid> <type> <size>\\n<content>\\n`` per object
(``<oid> missing\\n`` for one it does not have). :func:`read_batch` turns that
stream into :class:`GitObject` records whose content the caller reads (all at
once when small, as a bounded stream when large) or skips.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

PIPE_SIZE = 1 << 20  # fewer, larger reads from git (Linux caps this at pipe-max-size)
_F_SETPIPE_SZ = 1031


def widen_pipe(stream: BinaryIO) -> None:
    """Ask the kernel for a 1 MiB pipe buffer; harmless where it is refused."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fcntl.fcntl(stream.fileno(), _F_SETPIPE_SZ, PIPE_SIZE)


class ObjectContent(io.RawIOBase):
    """The content of one object, read straight from the batch stream."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        super().__init__()
        self._stream = stream
        self.remaining = size

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        want = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self._stream.read(want)
        if len(data) < want:
            raise EOFError("git cat-file stopped in the middle of an object")
        self.remaining -= len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def skip(self) -> None:
        while self.remaining > 0:
            self.read(PIPE_SIZE)


@dataclass(frozen=True)
class GitObject:
    """One object named in the batch stream; kind is ``missing`` when git lacks it
    (``unreadable`` when git stopped at it: ``problem`` says why, sources/git_batch.py)."""

    oid: str
    kind: str
    size: int
    problem: str = ""


def read_batch(stream: BinaryIO) -> Iterator[tuple[GitObject, ObjectContent]]:
    """Objects of a ``cat-file --batch`` stream; unread content is skipped for the caller."""
    while (answer := next_object(stream)) is not None:
        yield answer
        finish_object(stream, *answer)


def next_object(stream: BinaryIO) -> tuple[GitObject, ObjectContent] | None:
    """The next answer of a ``cat-file --batch`` stream (None at its end); the caller reads
    the content, then calls ``finish_object`` before asking for the next one."""
    header = stream.readline()
    if not header:
        return None
    if header.endswith((b" missing\n", b" ambiguous\n")):  # the name asked for, then why
        name = header.rsplit(b" ", 1)[0].decode("utf-8", "surrogateescape")
        return GitObject(name, "missing", 0), ObjectContent(stream, 0)
    parts = header.split()
    if len(parts) != 3 or not parts[2].isdigit():
        raise EOFError(f"unexpected line from git cat-file: {header[:200]!r}")
    obj = GitObject(parts[0].decode("ascii"), parts[1].decode("ascii"), int(parts[2]))
    return obj, ObjectContent(stream, obj.size)


def finish_object(stream: BinaryIO, obj: GitObject, content: ObjectContent) -> None:
    """Skip what the caller left of an answer, and the line break that ends it."""
    if obj.kind == "missing":
        return
    content.skip()
    if stream.read(1) != b"\n":
        raise EOFError("git cat-file stream out of step")


class StderrDrain:
    """Reads a process's stderr in the background so it can never fill and block git."""

    LIMIT = 64 * 1024

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._chunks: list[bytes] = []
        self._kept = 0
        self._thread = threading.Thread(target=self._run, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _run(self, stream: BinaryIO | None) -> None:
        if stream is None:
            return
        for chunk in iter(lambda: stream.read(8192), b""):
            if self._kept < self.LIMIT:
                self._chunks.append(chunk)
                self._kept += len(chunk)

    def text(self) -> str:
        self._thread.join(timeout=5)
        return b"".join(self._chunks).decode("utf-8", "replace").strip()
