"""The scanner every source uses: a stream and every layer inside it, into findings."""

from __future__ import annotations

import io
from typing import BinaryIO

from keysentry import decoders
from keysentry.containers.sniff import sniff
from keysentry.decoders import documents
from keysentry.engine import layers
from keysentry.engine.layers import FIRST_READ
from keysentry.engine.window_scanner import WindowScanner
from keysentry.model.finding import Finding
from keysentry.model.target import ScanTarget

# bytes up to which scan_bytes first looks whether anything could be found: most blobs of
# a history and most files hold no trigger at all, and one search of the needles costs a
# fifth of what the layers and the window scan cost per object (history's small objects)
QUICK_LOOK_BYTES = 1 << 20


def _nothing_in(data: bytes, target: ScanTarget) -> bool:
    """Neither a container, a document nor a trigger: the layers and the window scan
    would find nothing in data (and only count its bytes)."""
    return (
        sniff(data[:FIRST_READ], target.path) is None
        and documents.kind_of(target.path) is None
        and not decoders.any_trigger(data)
    )


class Scanner(WindowScanner):
    """Scans streams and bytes for keys: with decoding on (the default), containers,
    documents and embedded payloads are opened first (engine/layers.py)."""

    def scan_bytes(self, data: bytes, target: ScanTarget) -> list[Finding]:
        if len(data) <= QUICK_LOOK_BYTES and _nothing_in(data, target):
            self.report.stats["bytes_scanned"] += len(data)  # as the window scan counts it
            return []
        return self.scan_stream(io.BytesIO(data), target)

    def scan_stream(self, stream: BinaryIO, target: ScanTarget) -> list[Finding]:
        if self.config.decode:
            return layers.scan(self, stream, target)
        return self.scan_windows(stream, target)
