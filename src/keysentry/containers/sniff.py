"""Telling a container by its first bytes (``.br`` and ``.asar`` also by name), and
reading those bytes without losing them."""

from __future__ import annotations

import io
import re
from typing import BinaryIO

SNIFF_BYTES = 512
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08", b"Cr24")  # Cr24: a Chrome .crx
_MAGIC_FIRST = (b"\x1f", b"P", b"C", b"\x04", b"\xfd", b"B", b"\x28", b"]")
_BZIP2 = re.compile(rb"BZh[1-9]1AY&SY")


def sniff(head: bytes, name: str) -> str | None:
    """The container kind of a stream starting with head (and named name, if not ""), or None."""
    if head.startswith(_MAGIC_FIRST):  # one test for the common case: none of these
        if head.startswith(b"\x1f\x8b"):
            return "gzip"
        if head.startswith(ZIP_MAGIC):
            return "zip"
        if head[:4] == b"\x04\x00\x00\x00" and head[16:25] == b'{"files":':
            return "asar"
        if head.startswith(b"\xfd7zXZ\x00"):
            return "xz"
        if head.startswith(b"\x28\xb5\x2f\xfd"):
            return "zstd"
        if _BZIP2.match(head):
            return "bzip2"
        if head.startswith(b"]\0\0") and name.lower().endswith(".lzma"):
            return "xz"  # legacy .lzma has no magic: its usual header, and its name
    if head[257:262] == b"ustar":
        return "tar"
    ending = name[-5:].lower()
    if ending.endswith(".br"):
        return "brotli"
    if ending == ".asar":
        return "asar"
    return None


class PeekedStream(io.RawIOBase):
    """A stream whose first bytes were already read: they come first, then the rest."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head, self._used, self._rest = head, 0, rest

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._rest.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._head, self._used = b"", 0  # the rest holds the head too: it can seek back
        return self._rest.seek(offset, whence)

    def tell(self) -> int:
        return self._rest.tell() - (len(self._head) - self._used)

    def read(self, size: int = -1) -> bytes:
        left = len(self._head) - self._used
        if not left:
            return self._rest.read(size)
        if size < 0 or size >= left:
            data = self._head if not self._used else self._head[self._used :]
            self._head, self._used = b"", 0
            if size < 0:  # everything: the head, then all the rest
                return data + self._rest.read()
            return data if size == left else data + self._rest.read(size - left)
        data = self._head[self._used : self._used + size]
        self._used += size
        return data


def peek(stream: BinaryIO, size: int = SNIFF_BYTES) -> tuple[bytes, BinaryIO]:
    """The first bytes of a stream, and a stream that still starts at the beginning.

    The read is the one the scan would make anyway (size: a scan window), so
    looking costs no extra system call.
    """
    head = stream.read(size)
    return head, PeekedStream(head, stream)
