"""The decoded text around a key, safe to show: keys redacted, stray hex cut away."""

from __future__ import annotations

import re

from keysentry.model.key import redact_text
from keysentry.model.text import escape_text

RADIUS = 40
# what is left of a neighbouring key that the edge of the context cut in two
_HEX_RUN = re.compile(r"[0-9a-f]{12,}")


def context_text(decoded: bytes, start: int, end: int) -> str:
    """Up to RADIUS decoded bytes either side of decoded[start:end], on the key's line."""
    lo = max(0, start - RADIUS)
    hi = min(len(decoded), end + RADIUS)
    newline = decoded.rfind(b"\n", lo, start)
    lo = lo if newline < 0 else newline + 1
    newline = decoded.find(b"\n", end, hi)
    hi = hi if newline < 0 else newline
    before = decoded[lo:start].decode("utf-8", "replace")
    after = decoded[end:hi].decode("utf-8", "replace")
    key = redact_text(decoded[start:end].decode("ascii", "replace"))
    text = _HEX_RUN.sub("…", redact_text(before)) + key + _HEX_RUN.sub("…", redact_text(after))
    return escape_text(text.strip())
