"""Where zstd frames end, followed from their headers as the compressed bytes go by.

zstandard's bounded ``stream_reader`` returns nothing more, without an error, when the
input stops inside a frame; walking the frame and block headers (RFC 8878 §3.1) tells a
cut-short ``.zst`` from a whole one without holding or decompressing anything twice.
"""

from __future__ import annotations

_MAGIC = b"\x28\xb5\x2f\xfd"
_SKIPPABLE = b"\x2a\x4d\x18"  # bytes 1-3 of 0x184D2A5? (little endian)
_DICT_ID_SIZES = (0, 1, 2, 4)
_CONTENT_SIZE_SIZES = (0, 2, 4, 8)


class FrameWalker:
    """Fed every compressed byte in order; ``complete`` when the input ends between frames."""

    def __init__(self) -> None:
        self._buffer = b""
        self._skip = 0  # bytes of block content (or a skippable frame) still to pass over
        self._state = "magic"
        self._checksum = False
        self.problem: str | None = None

    @property
    def complete(self) -> bool:
        return self._state == "magic" and not self._buffer and not self._skip

    def feed(self, data: bytes) -> None:
        if self.problem is not None:
            return
        if self._skip:
            passed = min(self._skip, len(data))
            self._skip -= passed
            data = data[passed:]
        self._buffer += data
        while self.problem is None and not self._skip and self._step():
            pass

    def _take(self, count: int) -> bytes | None:
        if len(self._buffer) < count:
            return None
        taken, self._buffer = self._buffer[:count], self._buffer[count:]
        return taken

    def _pass_over(self, count: int) -> None:
        passed = min(count, len(self._buffer))
        self._buffer = self._buffer[passed:]
        self._skip = count - passed

    def _step(self) -> bool:
        """One header read; False when more bytes are needed."""
        if self._state == "magic":
            head = self._buffer[:8]
            if len(head) < 4:
                return False  # the next magic (or the end, which leaves it incomplete)
            if head[:4] == _MAGIC:
                self._take(4)
                self._state = "frame"
            elif len(head) >= 4 and head[1:4] == _SKIPPABLE and head[0] & 0xF0 == 0x50:
                if len(head) < 8:
                    return False
                self._take(8)
                self._pass_over(int.from_bytes(head[4:8], "little"))
            else:
                self.problem = "data after the last zstd frame is not a zstd frame"
            return len(self._buffer) > 0 and self.problem is None
        if self._state == "frame":
            if not self._buffer:
                return False
            descriptor = self._buffer[0]
            single = descriptor >> 5 & 1
            size = 1 + (not single) + _DICT_ID_SIZES[descriptor & 3]
            size += _CONTENT_SIZE_SIZES[descriptor >> 6] or single
            if self._take(size) is None:
                return False
            self._checksum = bool(descriptor >> 2 & 1)
            self._state = "block"
            return True
        if self._state == "block":
            header = self._take(3)
            if header is None:
                return False
            word = int.from_bytes(header, "little")
            kind, size = word >> 1 & 3, word >> 3
            if kind == 3:
                self.problem = "a zstd block of the reserved type"
                return False
            if word & 1:  # the frame's last block
                self._state = "checksum" if self._checksum else "magic"
            self._pass_over(1 if kind == 1 else size)
            return True
        self._state = "magic"  # the 4-byte content checksum
        self._pass_over(4)
        return True
