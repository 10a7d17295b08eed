"""scan_bytes first looks whether anything could be found (engine/scanner.py): whatever
the bytes and the name, it finds, says and counts what the full scan of a stream does."""

from __future__ import annotations

import base64
import gzip
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import new_key
from keysentry.config import Config
from keysentry.decoders import _NESTED3_NEEDLES, TRIGGERS
from keysentry.decoders.base64_layers import RUN_STARTS
from keysentry.engine.scanner import Scanner
from keysentry.model.report import Report
from keysentry.model.target import ScanTarget, SourceKind

KEY = new_key()  # drawn once: hypothesis replays the same examples


def _layers(text: bytes, depth: int) -> bytes:
    for _ in range(depth):
        text = base64.b64encode(text)
    return text


PIECES = [
    *(_layers(f'key = "{KEY}"'.encode(), depth) for depth in (3, 4, 5)),
    *RUN_STARTS,
    *(needle for needle, _ in _NESTED3_NEEDLES),
    KEY.encode(),
    base64.b64encode(f'key = "{KEY}"'.encode()),
    gzip.compress(KEY.encode()),
    KEY.encode("utf-16-le"),
    f"'{KEY[:2]}' + '{KEY[2:]}'".encode(),
    f"// allow-secret\n{KEY}".encode(),
    *TRIGGERS,
    b"\x1f\x8b",
    b"PK\x03\x04",
]
NAMES = ["", "src/app.py", "public/app.js.map", "notebook.ipynb", "page.js.br", "a.asar"]


def _outcome(report: Report, found: list) -> tuple:
    return (
        [(f.fingerprint, f.path, f.line, f.column, tuple(f.decoded_from)) for f in found],
        [(e.path, e.message) for e in report.errors],
        list(report.notes),
        sorted(report.stats.items()),
    )


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.one_of(st.sampled_from(PIECES), st.binary(max_size=64), st.text(max_size=64)),
        max_size=8,
    ),
    name=st.sampled_from(NAMES),
    decode=st.booleans(),
)
def test_scan_bytes_matches_the_full_scan_of_the_same_stream(parts, name, decode) -> None:
    data = b"".join(p.encode() if isinstance(p, str) else p for p in parts)
    target = ScanTarget(name, SourceKind.BLOB) if not name else ScanTarget(name)
    quick, full = Report(), Report()
    found_quick = Scanner(Config(decode=decode), quick).scan_bytes(data, target)
    found_full = Scanner(Config(decode=decode), full).scan_stream(io.BytesIO(data), target)
    assert _outcome(quick, found_quick) == _outcome(full, found_full)


def test_a_blob_without_a_trigger_is_counted_and_a_key_beside_it_still_found() -> None:
    report = Report()
    scanner = Scanner(Config(), report)
    plain = b"def handler(request):\n    return compute(42)\n" * 100
    assert scanner.scan_bytes(plain, ScanTarget("", SourceKind.BLOB)) == []
    found = scanner.scan_bytes(plain + KEY.encode(), ScanTarget("", SourceKind.BLOB))
    assert [f.redacted for f in found] == [f.redacted for f in report.findings[-1:]]
    assert len(found) == 1
    assert report.stats["bytes_scanned"] == 2 * len(plain) + len(KEY)
