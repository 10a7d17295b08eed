"""Compressed streams: gzip (members back to back, inflated ahead of the reader in a
thread), brotli, xz/lzma and bzip2 (standard library) and zstd, each with its output
bounded per call so that every byte is counted against the budget and the ratio limit
(containers/limits.py) before the next is made."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from keysentry.containers.limits import (
    CHUNK,
    OUTPUT_STEP,
    Budget,
    ContainerError,
    LimitedStream,
)
from keysentry.containers.zstd_frames import FrameWalker

if TYPE_CHECKING:
    import queue


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


class _Incremental(Protocol):
    """What lzma's and bz2's decompressors share."""

    eof: bool
    needs_input: bool
    unused_data: bytes

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _BackToBack:
    """A format whose streams may follow one another (xz, bzip2), output bounded per call."""

    def __init__(self, raw: BinaryIO, new: Callable[[], _Incremental], name: str) -> None:
        self._raw, self._new, self._name = raw, new, name
        self._decompressor = new()
        self._pending = b""  # compressed bytes read, not yet given to the decompressor
        self.consumed = 0

    def _read(self) -> bytes:
        data = self._raw.read(CHUNK)
        self.consumed += len(data)
        return data

    def _next_stream(self) -> bool:
        """Start the stream after the one that ended; False at the end of the input."""
        rest = (self._decompressor.unused_data or self._read()).lstrip(b"\0")  # xz padding
        while not rest:
            more = self._read()
            if not more:
                return False
            rest = more.lstrip(b"\0")
        self._decompressor, self._pending = self._new(), rest
        return True

    def produce(self, size: int) -> bytes:
        while True:
            if self._decompressor.eof:
                if not self._next_stream():
                    return b""
                continue
            data = b""
            if self._decompressor.needs_input:
                data, self._pending = self._pending or self._read(), b""
                if not data:
                    raise EOFError(f"the {self._name} stream ends before its end marker")
            out = self._decompressor.decompress(data, size)
            if out:
                return out


def _back_to_back(
    raw: BinaryIO, budget: Budget, new: Callable[[], _Incremental], name: str
) -> LimitedStream:
    streams = _BackToBack(raw, new, name)
    return LimitedStream(streams.produce, lambda: streams.consumed, budget)


def xz_stream(raw: BinaryIO, budget: Budget) -> LimitedStream:
    """xz (``.xz``, ``.txz``) and legacy ``.lzma``, told apart by their headers."""
    import lzma

    return _back_to_back(raw, budget, lambda: lzma.LZMADecompressor(lzma.FORMAT_AUTO), "xz/lzma")


def bzip2_stream(raw: BinaryIO, budget: Budget) -> LimitedStream:
    """bzip2 (``.bz2``, ``.tbz2``), several streams back to back as ``pbzip2`` writes."""
    import bz2

    return _back_to_back(raw, budget, bz2.BZ2Decompressor, "bzip2")


class _Counted(io.RawIOBase):
    """A stream that counts what is read from it (the ratio limit's compressed side) and
    shows it to a zstd frame walker."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw, self.count = raw, 0
        self.frames = FrameWalker()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        self.frames.feed(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def zstd_stream(raw: BinaryIO, budget: Budget) -> LimitedStream:
    """zstd (``.zst``), frames back to back: ``compression.zstd`` where the standard
    library has it (3.14), else ``zstandard``; a frame cut short is an error."""
    counted = _Counted(raw)
    try:
        from compression import zstd  # type: ignore[import-not-found]

        reader: BinaryIO = zstd.ZstdFile(counted)
    except ImportError:
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(
            counted, read_size=CHUNK, read_across_frames=True
        )

    def produce(size: int) -> bytes:
        out = reader.read(size)
        if not out:
            if counted.frames.problem is not None:
                raise ContainerError(f"corrupt zstd data ({counted.frames.problem})")
            if not counted.frames.complete:
                raise EOFError("the zstd stream ends inside a frame")
        return out

    return LimitedStream(produce, lambda: counted.count, budget, reader.close)
