"""Compressed streams: gzip (members back to back, inflated ahead of the reader in a
thread) and brotli (output bounded per call)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from keysentry.containers.limits import (
    CHUNK,
    OUTPUT_STEP,
    Budget,
    ContainerError,
    LimitedStream,
)

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
