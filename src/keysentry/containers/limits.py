"""What unpacking may cost: the limits, the budget one top-level file shares, and the
decompressed stream that counts every byte against them.

Every byte decompressed is counted against :class:`Limits`; a stream that goes past them
ends early and says why, so a decompression bomb costs at most the budget in time and a
window in memory.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

CHUNK = 1 << 16  # compressed bytes read at a time
OUTPUT_STEP = 1 << 20  # decompressed bytes asked for at a time
RATIO_FLOOR = 16 << 20  # below this much output no ratio is suspicious


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


class RatioExceeded(LimitReached):
    """One stream (or archive member) expands too much: only it stops, the next is read."""


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
        self.check_ratio = True  # off when an archive inside judges each member instead

    def consumed(self) -> int:
        """Compressed bytes read so far."""
        return self._consumed()

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
            if (
                self.check_ratio
                and self.produced > RATIO_FLOOR
                and self.produced > limit * max(1, self._consumed())
            ):
                raise RatioExceeded(
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
