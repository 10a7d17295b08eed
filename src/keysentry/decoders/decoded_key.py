"""A key a decoder revealed, and where its encoded form sits (shared by the decoders)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DecodedKey:
    """A key whose encoded form sits at chunk[start:end]."""

    start: int
    end: int
    key: str
    chain: tuple[str, ...]  # the decodings that revealed it, outermost first
    context: str  # decoded text around the key, every key in it redacted

    @property
    def unit(self) -> int:
        """Bytes per character of the text around it (2 for UTF-16): its column's measure."""
        return 2 if self.chain[0].startswith("utf-16") else 1
