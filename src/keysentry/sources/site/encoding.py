"""``Content-Encoding`` undone within the decompression budget containers use.

gzip and brotli are the containers' own stream decoders (containers/compressed.py);
zstd and deflate are decoded the same way: output asked for a step at a time,
every byte counted against the ``Budget`` and its ratio limit, so a compressed
bomb costs at most the budget. The result is at most ``limit`` bytes; what is
past it, or what could not be decoded, is said in ``Decoded.problem``. ``take``
hands out the crawl's ``--max-bytes`` as the body is decoded: once it grants less
than was read, the body ends there (``Decoded.cut``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from keysentry.containers.compressed import brotli_stream, gzip_stream
from keysentry.containers.limits import CHUNK, Budget, ContainerError, LimitedStream

# names a response may give, and the decoder each one means (identity: none)
IDENTITY = ("", "identity")
GZIP = ("gzip", "x-gzip")
SUPPORTED = (*IDENTITY, *GZIP, "br", "zstd", "deflate")
READ_STEP = 1 << 20


@dataclass(frozen=True)
class Decoded:
    body: bytes  # decoded, at most the limit
    wire_bytes: int  # bytes read from the connection
    problem: str | None = None  # why the body is not the whole response
    cut: bool = False  # the crawl's --max-bytes ran out while it was read


def _unlimited(count: int) -> int:
    return count


class Counted:
    """A stream's reads counted (what the ratio limit divides by)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        return data


def _zstd_stream(raw: Counted, budget: Budget) -> LimitedStream:
    import zstandard  # only a zstd response needs it

    reader = zstandard.ZstdDecompressor().stream_reader(raw, read_size=CHUNK)

    def produce(size: int) -> bytes:
        try:
            return reader.read(size)
        except zstandard.ZstdError as exc:
            raise ContainerError(f"corrupt zstd data ({exc})") from exc

    return LimitedStream(produce, lambda: raw.count, budget, reader.close)


class _Deflate:
    """HTTP's ``deflate``: zlib-wrapped as the RFC says, or raw as some servers send it."""

    def __init__(self, raw: Counted) -> None:
        self.raw = raw
        self.pending = b""
        self.inflater: zlib._Decompress | None = None

    def produce(self, size: int) -> bytes:
        while True:
            if not self.pending:
                self.pending = self.raw.read(CHUNK)
                if not self.pending:
                    return b""
            if self.inflater is None:
                zlib_wrapped = (self.pending[0] & 0x0F) == 8
                self.inflater = zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -15)
            out = self.inflater.decompress(self.pending, size)
            self.pending = self.inflater.unconsumed_tail
            if out or self.inflater.eof:
                return out


def _deflate_stream(raw: Counted, budget: Budget) -> LimitedStream:
    return LimitedStream(_Deflate(raw).produce, lambda: raw.count, budget)


def decode(
    raw: BinaryIO,
    encoding: str,
    budget: Budget,
    limit: int,
    take: Callable[[int], int] = _unlimited,
) -> Decoded:
    """The body of a response with this ``Content-Encoding``, at most ``limit`` bytes,
    each decoded byte granted by ``take`` first."""
    name = encoding.strip().lower()
    counted = Counted(raw)
    if name in IDENTITY:
        return _read(counted, counted, limit, None, take)
    if name not in SUPPORTED:
        decoded = _read(counted, counted, limit, None, take)
        problem = f"Content-Encoding {encoding!r} is not supported: the raw bytes were scanned"
        return Decoded(decoded.body, decoded.wire_bytes, decoded.problem or problem, decoded.cut)
    if name in GZIP:
        stream = gzip_stream(counted, budget)  # type: ignore[arg-type]
    elif name == "br":
        stream = brotli_stream(counted, budget)  # type: ignore[arg-type]
    elif name == "zstd":
        stream = _zstd_stream(counted, budget)
    else:
        stream = _deflate_stream(counted, budget)
    with stream:
        decoded = _read(stream, counted, limit, name, take)
        problem = decoded.problem
        if problem is None and stream.problem is not None:
            problem = f"{name}: {stream.problem}"
    return Decoded(decoded.body, counted.count, problem, decoded.cut)


def _read(
    stream: BinaryIO | Counted,
    counted: Counted,
    limit: int,
    name: str | None,
    take: Callable[[int], int],
) -> Decoded:
    parts: list[bytes] = []
    size = 0
    problem = None
    cut = False
    while problem is None:
        try:
            data = stream.read(min(READ_STEP, limit + 1 - size))
        except ContainerError as exc:
            problem = str(exc)
            break
        if not data:
            break
        if size + len(data) > limit:
            what = "decoded " if name else ""
            problem = (
                f"oversize: the {what}response is larger than {_megabytes(limit)}"
                " (--max-response-bytes): only its start was scanned"
            )
            data = data[: limit - size]
        granted = take(len(data))
        if granted < len(data):
            cut = True
            problem = (
                f"--max-bytes: the crawl's budget ran out after {size + granted:,} bytes of"
                " this response: only its start was scanned"
            )
            data = data[:granted]
        parts.append(data)
        size += len(data)
    return Decoded(b"".join(parts), counted.count, problem, cut)


def _megabytes(count: int) -> str:
    return f"{count / (1 << 20):g} MiB"
