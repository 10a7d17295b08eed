"""Streaming, positions, snippets and inline allow comments (issue 2 §2 and §4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import KEYSENTRY, new_key, peak_rss_of
from keysentry.config import Config
from keysentry.decoders import TRIGGERS
from keysentry.engine.scanner import Scanner
from keysentry.engine.windows import OVERLAP, WINDOW
from keysentry.model.finding import Finding
from keysentry.model.key import redact
from keysentry.model.target import ScanTarget

MiB = 1024 * 1024


def scan(data: bytes, path: str = "f.txt") -> list[Finding]:
    return Scanner(Config()).scan_bytes(data, ScanTarget(path))


def scan_file(path: Path) -> list[Finding]:
    with path.open("rb", buffering=0) as stream:
        return Scanner(Config()).scan_stream(stream, ScanTarget(str(path)))


def expected_position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[line_start:offset].decode("utf-8")) + 1


def put(buf: bytearray, offset: int, key: str) -> None:
    buf[offset - 1] = ord(" ")
    buf[offset : offset + len(key)] = key.encode()
    buf[offset + len(key)] = ord(" ")


# --- windows ------------------------------------------------------------------------------

FILLER = (b"x" * 63 + "é".encode() + b"\n") * ((2 * WINDOW + 4096) // 66)

BOUNDARY_SHIFTS = [
    -OVERLAP - 2,
    -OVERLAP - 1,
    -OVERLAP,
    -OVERLAP + 1,
    -36,
    -35,
    -34,
    -33,
    -20,
    -1,
    0,
    1,
    7,
]


@pytest.mark.parametrize("shift", BOUNDARY_SHIFTS)
def test_key_straddling_a_window_boundary_found_at_its_line_and_column(
    tmp_path: Path, shift: int
) -> None:
    buf = bytearray(FILLER)
    keys = {WINDOW + shift: new_key(), 2 * WINDOW + shift: new_key()}
    for offset, key in keys.items():
        put(buf, offset, key)
    path = tmp_path / "big.txt"
    path.write_bytes(buf)
    findings = scan_file(path)
    assert [f.secret for f in findings] == list(keys.values())
    for f, offset in zip(findings, keys, strict=True):
        assert f.offset == offset
        assert (f.line, f.column) == expected_position(bytes(buf), offset)


def key_at(target: int, before: bytes, key: str, after: bytes) -> bytes:
    """Filler lines, then before + key + after with the key starting at offset target."""
    filler = b"y" * (target - len(before) - 1) + b"\n"
    return filler + before + key.encode() + after


@pytest.mark.parametrize("shift", [-OVERLAP + 1, -10, 0, 5])
def test_allow_comment_before_a_key_in_the_next_window_still_counts(shift: int) -> None:
    key = new_key()
    data = key_at(WINDOW + shift, b"/* keysentry: allow */ k='", key, b"';\n" * 10)
    assert scan(data) == []


@pytest.mark.parametrize("shift", [-OVERLAP + 1, -10, 0, 5])
def test_provider_hint_before_a_key_in_the_next_window_still_counts(shift: int) -> None:
    key = new_key()
    data = key_at(WINDOW + shift, b"provider: deepseek\napi_key: '", key, b"'\n" * 10)
    (f,) = scan(data)
    assert (f.provider, f.confidence) == ("deepseek", "high")
    assert f.snippet == "api_key: '" + redact(key) + "'"


def test_key_in_the_last_bytes_of_a_large_file_keeps_its_context() -> None:
    key = new_key()
    data = b"a" * (WINDOW + 100) + b"\nbase_url = 'https://api.deepseek.com'\nkey='" + key.encode()
    (f,) = scan(data)
    assert f.provider == "deepseek" and f.confidence == "high"
    assert f.snippet == "key='" + redact(key)


def test_columns_on_a_multi_megabyte_single_line() -> None:
    keys = [new_key() for _ in range(3)]
    offsets = [3 * MiB, WINDOW + 5 * MiB // 2, 2 * WINDOW + 123]
    buf = bytearray(b"v" * (2 * WINDOW + MiB))
    for offset, key in zip(offsets, keys, strict=True):
        put(buf, offset, key)
    findings = scan(bytes(buf), "bundle.min.js")
    assert [(f.line, f.column) for f in findings] == [(1, o + 1) for o in offsets]
    for f in findings:
        assert len(f.snippet) < 2 * 40 + 40


def test_columns_count_characters_after_multibyte_utf8() -> None:
    keys = [new_key() for _ in range(2)]
    unit = "日本語ü😀a".encode()  # 3+3+3+2+4+1 bytes, 6 characters
    repeats = [300_000, WINDOW // len(unit) - 300_000 + 1000]  # one key in each window
    parts = [b"first line\n"]
    for count, key in zip(repeats, keys, strict=True):
        parts += [unit * count, b"=", key.encode(), b";"]
    data = b"".join([*parts, unit * 1000])
    findings = scan(data)
    assert [f.secret for f in findings] == keys
    assert findings[0].column == repeats[0] * 6 + 2
    assert findings[1].column == (repeats[0] + repeats[1]) * 6 + 1 + 35 + 1 + 2
    for f in findings:
        assert f.line == 2
        assert (f.line, f.column) == expected_position(data, f.offset)


def test_line_and_column_in_a_small_file() -> None:
    key = new_key()
    data = f"one\ntwo\n  ключ = '{key}'\n".encode()
    (f,) = scan(data)
    assert (f.line, f.column) == (3, 11)


def test_crlf_line_counting() -> None:
    key = new_key()
    (f,) = scan(f"a\r\nb\r\n\tk={key}\r\n".encode())
    assert (f.line, f.column) == (3, 4)


# --- a 2 GB file through the real CLI, peak RSS under 150 MB ------------------------------


def test_two_gigabyte_sparse_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.bin"
    size = 2 * 1024**3
    keys = [new_key() for _ in range(3)]
    offsets = [100, WINDOW * 7 - 17, size - 200]
    with path.open("wb") as handle:
        handle.truncate(size)
        for offset, key in zip(offsets, keys, strict=True):
            handle.seek(offset - 1)
            handle.write(b"\n" + key.encode() + b"\n")
    code, out, max_rss_kib = peak_rss_of(*KEYSENTRY, "scan", "--format", "json", str(path))
    report = json.loads(out)
    assert code == 1
    assert [f["redacted"] for f in report["findings"]] == [redact(k) for k in keys]
    assert [(f["line"], f["column"]) for f in report["findings"]] == [(2, 1), (4, 1), (6, 1)]
    assert report["stats"]["bytes_scanned"] == size
    assert max_rss_kib < 150 * 1024, f"peak RSS {max_rss_kib // 1024} MiB"


# --- snippets -----------------------------------------------------------------------------


def test_snippet_is_short_and_redacted_on_a_minified_line() -> None:
    key = new_key()
    left = "var a=" + "function(){return 1};" * 5000
    data = (left + f'const k="{key}";' + "x=1;" * 5000).encode()
    (f,) = scan(data, "app.min.js")
    assert key not in f.snippet and redact(key) in f.snippet
    assert len(f.snippet) <= 40 + len(redact(key)) + 40
    assert "return 1" in f.snippet and "x=1;" in f.snippet


def test_snippet_never_shows_part_of_a_neighbouring_key() -> None:
    key, before, after = new_key(), new_key(), new_key()
    data = f"{before}, '{key}', 0123456, {after}, {'q' * 100}".encode()
    for f in scan(data):
        for other in (key, before, after):
            assert other[3:15] not in f.snippet, (f.snippet, other)
            assert other[-12:] not in f.snippet, (f.snippet, other)


def test_snippet_escapes_control_characters() -> None:
    key = new_key()
    (f,) = scan(f"\x1b[31mkey = {key}\x07\n".encode())
    assert "\x1b" not in f.snippet and "\x07" not in f.snippet
    assert "\\x1b[31m" in f.snippet


# --- inline allow comments ----------------------------------------------------------------

ALLOWED = {
    "keysentry: allow": "api_key = '{k}'  # keysentry: allow",
    "pragma: allowlist secret": "api_key = '{k}'  # pragma: allowlist secret",
    "before the key": "/* keysentry: allow */ const k = '{k}';",
    "js comment": "const k = '{k}'; // pragma: allowlist secret",
    "allow-next-line": "# keysentry: allow-next-line\napi_key = '{k}'",
    "allowlist nextline": "# pragma: allowlist nextline secret\napi_key = '{k}'",
    "next-line with crlf": "# keysentry: allow-next-line\r\napi_key = '{k}'\r\n",
}

NOT_ALLOWED = {
    "allow on the line above": "# keysentry: allow\napi_key = '{k}'",
    "allow on the line below": "api_key = '{k}'\n# keysentry: allow",
    "next-line two lines up": "# keysentry: allow-next-line\n\napi_key = '{k}'",
    "next-line below": "api_key = '{k}'\n# keysentry: allow-next-line",
    "pragma on another line": "x = 1  # pragma: allowlist secret\napi_key = '{k}'",
}


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_inline_allow_suppresses(name: str) -> None:
    scanner = Scanner(Config())
    assert scanner.scan_bytes(ALLOWED[name].format(k=new_key()).encode(), ScanTarget("a.py")) == []
    assert scanner.report.stats["suppressed_inline"] == 1


@pytest.mark.parametrize("name", sorted(NOT_ALLOWED))
def test_allow_elsewhere_does_not_suppress(name: str) -> None:
    key = new_key()
    assert [f.secret for f in scan(NOT_ALLOWED[name].format(k=key).encode())] == [key]


def test_allow_covers_only_its_own_line() -> None:
    allowed, reported = new_key(), new_key()
    text = f"a = '{allowed}'  # keysentry: allow\nb = '{reported}'\n"
    assert [f.secret for f in scan(text.encode())] == [reported]


def test_allowed_fingerprint_suppresses() -> None:
    from keysentry.model.finding import fingerprint

    allowed, reported = new_key(), new_key()
    scanner = Scanner(Config(allowed_fingerprints=[fingerprint(allowed)]))
    found = scanner.scan_bytes(f"{allowed}\n{reported}\n".encode(), ScanTarget("a"))
    assert [f.secret for f in found] == [reported]
    assert scanner.report.stats["suppressed_allowlist"] == 1


def test_a_key_right_after_any_piece_of_a_decoder_trigger_is_found() -> None:
    """With decoding on, one multi-needle pass finds the decoders' triggers and where plain
    keys begin: no trigger may swallow the start of a key that follows it."""
    for trigger in TRIGGERS:
        for cut in range(1, len(trigger) + 1):
            key = new_key()
            data = b"x = " + trigger[:cut] + key.encode() + b"\n"
            on = [f.secret for f in scan(data) if not f.decoded_from]
            off = [
                f.secret for f in Scanner(Config(decode=False)).scan_bytes(data, ScanTarget("f"))
            ]
            assert on == off, (trigger, cut)
