"""Compressed and packed files: gzip, brotli, the zip family, tar, Electron asar.

Containers are recognised by their first bytes (``.br`` and ``.asar`` also by
name) and opened in memory as streams: nothing is ever extracted to disk, and a
member's name is only used in the path findings show (``app.zip!dist/main.js``).
Every byte decompressed is counted against :class:`Limits`; a stream that goes
past them ends early and says why, so a decompression bomb costs at most the
budget in time and a window in memory.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    import queue

CHUNK = 1 << 16  # compressed bytes read at a time
OUTPUT_STEP = 1 << 20  # decompressed bytes asked for at a time
SNIFF_BYTES = 512
RATIO_FLOOR = 16 << 20  # below this much output no ratio is suspicious
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08", b"Cr24")  # Cr24: a Chrome .crx
_MAGIC_FIRST = (b"\x1f", b"P", b"C", b"\x04")


@dataclass(frozen=True)
class Limits:
    """How far into packed content a scan goes (see the README's "Decoders and archives")."""

    max_depth: int = 6  # containers and decoded payloads inside one another
    max_bytes: int = 4 << 30  # decompressed, per file on disk or blob
    max_ratio: int = 100  # decompressed : compressed, once past RATIO_FLOOR
    max_in_memory: int = 256 << 20  # a nested zip or asar is read into memory to be opened


class ContainerError(Exception):
    """A container that cannot be read (corrupt, truncated, unsupported)."""


class LimitReached(ContainerError):
    """Past a limit: the rest was not scanned (a decompression bomb, or just too big)."""


@dataclass
class Budget:
    """Decompressed bytes left for one top-level file; shared by everything nested in it."""

    limits: Limits
    spent: int = 0

    def spend(self, count: int) -> None:
        self.spent += count
        if self.spent > self.limits.max_bytes:
            raise LimitReached(
                f"decompressed content exceeds {self.limits.max_bytes >> 20} MiB "
                "(max_decompressed_mb); the rest was not scanned"
            )


def sniff(head: bytes, name: str) -> str | None:
    """The container kind of a stream starting with head (and named name, if not ""), or None."""
    if head.startswith(_MAGIC_FIRST):  # one test for the common case: none of these
        if head.startswith(b"\x1f\x8b"):
            return "gzip"
        if head.startswith(ZIP_MAGIC):
            return "zip"
        if head[:4] == b"\x04\x00\x00\x00" and head[16:25] == b'{"files":':
            return "asar"
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
            return data if size < 0 or size == left else data + self._rest.read(size - left)
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


class LimitedStream(io.RawIOBase):
    """Decompressed output, counted against the budget and the ratio limit.

    A failure (corrupt data, a limit) ends the stream early; ``problem`` says why.
    """

    def __init__(
        self,
        produce: Callable[[int], bytes],
        consumed: Callable[[], int],
        budget: Budget,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._produce, self._consumed, self._budget = produce, consumed, budget
        self._on_close = on_close
        self.produced = 0
        self.problem: ContainerError | None = None
        self._buffer = b""  # decompressed ahead of the reader, from self._used on
        self._used = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
            self._on_close = None
        super().close()

    def read(self, size: int = -1) -> bytes:
        """Up to size bytes (fewer only at the end), like a buffered file."""
        size = size if size > 0 else OUTPUT_STEP
        parts = [self._buffer[self._used : self._used + size]]
        got = len(parts[0])
        self._used += got
        while got < size and self.problem is None:
            data = self._next(OUTPUT_STEP)
            if not data:
                break
            if len(data) > size - got:  # decompressors are asked for big steps; keep the rest
                self._buffer, self._used = data, size - got
                data = data[: size - got]
            parts.append(data)
            got += len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _next(self, size: int) -> bytes:
        try:
            data = self._produce(size)
            self.produced += len(data)
            self._budget.spend(len(data))
            limit = self._budget.limits.max_ratio
            if self.produced > RATIO_FLOOR and self.produced > limit * max(1, self._consumed()):
                raise LimitReached(
                    f"compression ratio over {limit}:1 after {self.produced >> 20} MiB "
                    "(possible decompression bomb; max_compression_ratio); the rest was not scanned"
                )
        except ContainerError as exc:
            self.problem = exc
            return b""
        except Exception as exc:  # whatever a decompressor raises on hostile input ends the stream
            self.problem = ContainerError(f"corrupt or truncated data ({exc})")
            return b""
        return data


def _inflate(raw: BinaryIO, counted: list[int]) -> Iterator[bytes]:
    """gzip members back to back, decompressed OUTPUT_STEP at a time."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending = b""  # compressed bytes read but not yet decompressed
    while True:
        exhausted = False
        if not pending:
            pending = raw.read(CHUNK)
            counted[0] += len(pending)
            exhausted = not pending
        if d.eof:
            if not pending.startswith(b"\x1f\x8b"):
                return  # the end, or padding after the last member
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = d.decompress(pending, OUTPUT_STEP)
        pending = d.unused_data if d.eof else d.unconsumed_tail
        if out:
            yield out
        elif exhausted and not d.eof:
            raise EOFError("the gzip data ends before its end marker")


class _Ahead:
    """Runs a producer in a thread a few steps ahead of the reader.

    zlib releases the GIL while it inflates, so decompression and scanning share
    the machine's cores. Closing stops the thread.
    """

    def __init__(self, pieces: Iterator[bytes], depth: int = 4) -> None:
        import queue  # only when a gzip stream is met: the pre-commit hook starts faster
        import threading

        self._full = queue.Full
        self._pieces = pieces
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keysentry-inflate", daemon=True)
        self._thread.start()

    def _put(self, item: bytes | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except self._full:
                continue
        return False

    def _run(self) -> None:
        try:
            for piece in self._pieces:
                if not self._put(piece):
                    return
            self._put(None)
        except BaseException as exc:  # handed to the reader, who reports it
            self._put(exc)

    def produce(self, size: int) -> bytes:
        item = self._queue.get() if not self._stop.is_set() else None
        if item is None:
            self._stop.set()
            return b""
        if isinstance(item, BaseException):
            self._stop.set()
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def gzip_stream(raw: BinaryIO, budget: Budget) -> LimitedStream:
    """gzip (also several members back to back), decompressed ahead of the reader."""
    counted = [0]
    ahead = _Ahead(_inflate(raw, counted))
    return LimitedStream(ahead.produce, lambda: counted[0], budget, ahead.close)


def brotli_stream(raw: BinaryIO, budget: Budget) -> LimitedStream:
    """brotli (``.br``), decompressed as it is read, output bounded per call."""
    import brotli  # only files named .br need it

    decompressor = brotli.Decompressor()
    consumed = [0]

    def produce(size: int) -> bytes:
        while not decompressor.is_finished():
            if decompressor.can_accept_more_data():
                data = raw.read(CHUNK)
                consumed[0] += len(data)
                if not data:
                    raise EOFError("the brotli stream ends before its end marker")
            else:
                data = b""
            try:
                out = decompressor.process(data, output_buffer_limit=size)
            except brotli.error as exc:
                raise ContainerError(f"corrupt brotli data ({exc})") from exc
            if out:
                return out
        return b""

    return LimitedStream(produce, lambda: consumed[0], budget)


@dataclass
class Member:
    """A file inside a container: its name there, and its content as a stream."""

    name: str
    stream: BinaryIO
    warnings: list[str] = field(default_factory=list)  # odd but harmless (a ../ name)


def _read_bounded(stream: BinaryIO, limit: int, what: str) -> bytes:
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


def _seekable(stream: BinaryIO, limits: Limits, what: str) -> BinaryIO:
    if stream.seekable():
        return stream
    return io.BytesIO(_read_bounded(stream, limits.max_in_memory, what))


def name_warnings(name: str) -> list[str]:
    """What is odd about a member name; nothing is extracted, so it is only reported."""
    parts = name.replace("\\", "/").split("/")
    warnings = []
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        warnings.append("has an absolute path")
    if ".." in parts:
        warnings.append("climbs out of the archive with '..'")
    return warnings


def zip_members(
    stream: BinaryIO, limits: Limits, budget: Budget, skipped: Callable[[str, str], None]
) -> Iterator[Member]:
    """Members of a zip (and .jar, .apk, .crx, .docx ...); encrypted ones are skipped."""
    import zipfile  # imported when met: the pre-commit hook starts faster

    try:
        archive = zipfile.ZipFile(_seekable(stream, limits, "a nested zip"))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ContainerError(f"not a readable zip archive ({exc})") from exc
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                skipped(info.filename, "encrypted zip member: not scanned")
                continue
            try:
                opened = archive.open(info)
            except (NotImplementedError, zipfile.BadZipFile, OSError, ValueError) as exc:
                skipped(info.filename, f"cannot be read ({exc}): not scanned")
                continue
            size = info.compress_size

            def produce(n: int, opened: Any = opened) -> bytes:
                return opened.read(n)

            member = LimitedStream(produce, lambda size=size: size, budget)
            yield Member(info.filename, member, name_warnings(info.filename))
            opened.close()


def tar_members(
    stream: BinaryIO, limits: Limits, budget: Budget, skipped: Callable[[str, str], None]
) -> Iterator[Member]:
    """Regular files of a tar read front to back (what ``npm pack`` makes, once un-gzipped)."""
    from keysentry.containers import tar as tar_reader

    try:
        for name, reader in tar_reader.members(stream):
            member = LimitedStream(reader.read, lambda size=reader.left: size, budget)
            yield Member(name, member, name_warnings(name))
    except tar_reader.TarError as exc:
        raise ContainerError(f"corrupt or truncated tar archive ({exc})") from exc


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

    source = _seekable(stream, limits, "a nested asar")
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


MEMBER_READERS = {"zip": zip_members, "tar": tar_members, "asar": asar_members}
STREAM_DECODERS = {"gzip": gzip_stream, "brotli": brotli_stream}
