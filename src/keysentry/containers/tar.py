"""A tar archive read front to back from a stream that cannot seek.

The regular files of ustar, GNU and pax archives (long names from ``L`` and
``x`` headers), each as a reader of exactly its bytes; everything else (folders,
links, devices) is skipped. Written for the scan's one pass over a decompressed
``.tgz``: the standard library's tarfile parses every header field and copies
each block through its own buffers, which cost a fifth of the time of scanning
an ``npm pack`` tarball (bench/decode_bench.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import BinaryIO

from keysentry.containers.limits import Budget, ContainerError, LimitedStream, Limits
from keysentry.containers.members import Member, name_warnings

BLOCK = 512
_REGULAR = (b"0", b"\0", b"7")
_SKIP_CHUNK = 1 << 20


class TarError(Exception):
    """Not a tar archive, or one that is corrupt or cut short."""


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        part = stream.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _skip(stream: BinaryIO, size: int) -> None:
    while size > 0:
        part = stream.read(min(size, _SKIP_CHUNK))
        if not part:
            raise TarError("the archive ends inside a member")
        size -= len(part)


def _number(field: bytes) -> int:
    if field and field[0] & 0x80:  # GNU base-256 for sizes of 8 GiB and more
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    try:
        return int(text, 8) if text else 0
    except ValueError as exc:
        raise TarError(f"not a tar header (number field {text[:12]!r})") from exc


def _checksum_ok(header: bytes) -> bool:
    stored = _number(header[148:156])
    unsigned = sum(header[:148]) + 8 * 0x20 + sum(header[156:])
    return stored == unsigned


def _pax_path(records: bytes) -> str | None:
    """The ``path`` record of a pax extended header."""
    path = None
    pos = 0
    while pos < len(records):
        space = records.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(records[pos:space])
        except ValueError:
            break
        if length <= 0:
            break
        record = records[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        if key == b"path":
            path = value.decode("utf-8", "surrogateescape")
        pos += length
    return path


class MemberReader(io.RawIOBase):
    """Exactly one member's bytes from the archive's stream."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream, self.left = stream, size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        want = self.left if size < 0 else min(size, self.left)
        data = _read_exact(self._stream, want)
        self.left -= len(data)
        if len(data) < want:
            raise TarError("the archive ends inside a member")
        return data


def members(stream: BinaryIO) -> Iterator[tuple[str, MemberReader]]:
    """(name, reader) for each regular file; a reader left unread is skipped over."""
    long_name: str | None = None
    first = True
    while True:
        header = _read_exact(stream, BLOCK)
        if not header.strip(b"\0"):
            return  # the end-of-archive blocks (or the stream's end after them)
        if len(header) < BLOCK:
            raise TarError("the archive ends inside a header")
        if not _checksum_ok(header):
            raise TarError("not a tar archive" if first else "a header's checksum does not match")
        first = False
        size = _number(header[124:136])
        padding = -size % BLOCK
        kind = header[156:157]
        if kind in (b"L", b"x"):
            data = _read_exact(stream, size + padding)[:size]
            if len(data) < size:
                raise TarError("the archive ends inside a header")
            found = (
                data.rstrip(b"\0").decode("utf-8", "surrogateescape")
                if kind == b"L"
                else _pax_path(data)
            )
            long_name = found or long_name
            continue
        name = long_name
        long_name = None
        if name is None:
            name = header[:100].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            if header[257:262] == b"ustar":
                prefix = header[345:500].split(b"\0", 1)[0]
                if prefix:
                    name = prefix.decode("utf-8", "surrogateescape") + "/" + name
        if kind in _REGULAR:
            reader = MemberReader(stream, size)
            yield name, reader
            _skip(stream, reader.left + padding)
        else:
            _skip(stream, size + padding)


def _meter(size: int, compressed: Callable[[], int] | None) -> Callable[[], int]:
    """A member's compressed size so far: its own size in a plain tar, else what the
    compressed stream under the tar has given since the member began."""
    if compressed is None:
        return lambda: size
    start = compressed()
    return lambda: compressed() - start


def tar_members(
    stream: BinaryIO,
    limits: Limits,
    budget: Budget,
    skipped: Callable[[str, str], None],
    compressed: Callable[[], int] | None = None,
) -> Iterator[Member]:
    """Regular files of a tar read front to back (what ``npm pack`` makes, once un-gzipped).

    ``compressed`` counts the compressed bytes under a ``.tgz`` (``.tar.xz`` ...): each
    member's ratio is then its own (its bytes against the compressed bytes read while it
    was), so one very compressible member stops alone and the archive goes on after its
    declared size."""
    try:
        for name, reader in members(stream):
            member = LimitedStream(reader.read, _meter(reader.left, compressed), budget)
            yield Member(name, member, name_warnings(name))
    except TarError as exc:
        raise ContainerError(f"corrupt or truncated tar archive ({exc})") from exc
