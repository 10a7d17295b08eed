"""The engine's stages directly: windows and positions, the window scanner, and the layers
(containers, documents, payloads) around it."""

from __future__ import annotations

import base64
import gzip
import io
import json
import zipfile

from conftest import new_key
from keysentry.config import Config
from keysentry.engine import layers
from keysentry.engine.scanner import Scanner
from keysentry.engine.window_scanner import WindowScanner
from keysentry.engine.windows import OVERLAP, Window, position, windows
from keysentry.model.report import Report
from keysentry.model.target import ScanTarget, SourceKind


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_windows_overlap_so_a_straddling_key_is_reported_by_exactly_one():
    key = new_key()
    size = 4096
    data = b"x" * (size - 10) + key.encode() + b"\n" + b"y" * size
    found = []
    for window in windows(io.BytesIO(data), size):
        at = window.data.find(key.encode())
        if window.accept_from <= at < window.accept_to:
            found.append(window.offset + at)
    assert found == [size - 10]
    assert len(key) <= OVERLAP


def test_position_counts_lines_and_characters_not_bytes():
    window = Window("a\nbé c".encode(), offset=0, line=7, column_chars=0, accept_from=0,
                    accept_to=8)
    assert position(window, len("a\nbé ".encode())) == (8, 4)


def test_window_scanner_scans_bytes_as_they_are():
    key = new_key()
    scanner = WindowScanner(Config())
    plain = scanner.scan_windows(io.BytesIO(f"k='{key}'\n".encode()), ScanTarget("a.py"))
    assert [f.secret for f in plain] == [key]
    packed = scanner.scan_windows(io.BytesIO(zipped("a.py", key.encode())), ScanTarget("a.zip"))
    assert packed == []  # no layers here: a zip is opened by engine/layers.py


def test_layers_open_containers_and_name_the_member_chain():
    key = new_key()
    inner = zipped("config/app.json", json.dumps({"deepseek": key}).encode())
    outer = gzip.compress(inner)
    report = Report()
    target = ScanTarget("rel.zip.gz", SourceKind.STAGED)
    found = layers.scan(WindowScanner(Config(), report), io.BytesIO(outer), target)
    [hit] = found
    assert hit.path == "rel.zip.gz!config/app.json"
    assert hit.decoded_from == ["gzip", "zip"]
    assert hit.source is SourceKind.STAGED
    assert report.stats["containers_gzip"] == 1 and report.stats["archive_members_scanned"] == 1


def test_layers_stop_at_the_depth_limit_with_an_error_naming_the_path():
    key = new_key()
    data = key.encode()
    for _ in range(4):
        data = gzip.compress(data)
    report = Report()
    config = Config(max_decode_depth=2)
    layers.scan(WindowScanner(config, report), io.BytesIO(data), ScanTarget("deep.gz"))
    [error] = report.errors
    assert error.path == "deep.gz" and "max_decode_depth" in error.message


def test_a_payload_is_placed_where_it_starts_in_the_window():
    key = new_key()
    blob = base64.b64encode(gzip.compress(f"deepseek={key}".encode())).decode()
    text = f"line one\nconst data = '{blob}';\n"
    [hit] = Scanner(Config()).scan_bytes(text.encode(), ScanTarget("bundle.js"))
    assert (hit.line, hit.column) == (2, len("const data = '") + 1)
    assert hit.decoded_from[0] == "base64" and "gzip" in hit.decoded_from


def test_the_scanner_with_decoding_off_is_the_window_scanner():
    key = new_key()
    data = gzip.compress(key.encode())
    assert Scanner(Config(decode=False)).scan_bytes(data, ScanTarget("a.gz")) == []
    assert [f.secret for f in Scanner(Config()).scan_bytes(data, ScanTarget("a.gz"))] == [key]
