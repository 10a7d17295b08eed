"""Bundles as real tools make them: esbuild source maps, javascript-obfuscator, long lines."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT, new_key, run_keysentry
from keysentry.audits.scan_files import scan_paths
from keysentry.config import Config
from keysentry.decoders import documents
from keysentry.engine.windows import WINDOW
from keysentry.model.key import fingerprint

JS_BIN = REPO_ROOT / "tests" / "js" / "node_modules" / ".bin"


def scan(*args: str, cwd: Path) -> tuple[int, dict]:
    proc = run_keysentry("scan", *args, "--format", "json", cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def esbuild_project(root: Path, key: str) -> None:
    (root / "src").mkdir(parents=True)
    (root / "src" / "config.js").write_text(
        "// deepseek key for local testing: " + key + "\n"
        'export const baseUrl = "https://api.deepseek.com";\n'
    )
    (root / "src" / "app.js").write_text(
        'import { baseUrl } from "./config.js";\n'
        "fetch(baseUrl).then((r) => console.log(r.status));\n"
    )


def esbuild(root: Path, *flags: str) -> None:
    subprocess.run(
        [str(JS_BIN / "esbuild"), "src/app.js", "--bundle", "--minify", *flags],
        cwd=root, check=True, capture_output=True,
    )


def test_key_in_a_stripped_comment_is_found_in_the_map(tmp_path):
    key = new_key()
    esbuild_project(tmp_path, key)
    esbuild(tmp_path, "--sourcemap", "--outfile=dist/app.js")
    assert key not in (tmp_path / "dist" / "app.js").read_text()  # the minifier dropped it
    code, report = scan("dist", cwd=tmp_path)
    assert code == 1
    [finding] = report["findings"]
    raw = (tmp_path / "dist" / "app.js.map").read_text()
    line_no, line = next((i, t) for i, t in enumerate(raw.splitlines(), 1) if key in t)
    assert (finding["path"], finding["line"], finding["column"]) == (
        "dist/app.js.map", line_no, line.index(key) + 1,
    )
    assert finding["original_source"] == "../src/config.js"
    assert finding["original_line"] == 1
    assert key not in json.dumps(report)


@pytest.mark.parametrize("charset", [False, True])
def test_inline_source_map(tmp_path, charset):
    key = new_key()
    esbuild_project(tmp_path, key)
    esbuild(tmp_path, "--sourcemap=inline", "--outfile=dist/app.js")
    bundle = tmp_path / "dist" / "app.js"
    text = bundle.read_text()
    prefix = "data:application/json;base64,"
    assert prefix in text and key not in text
    if charset:
        text = text.replace(prefix, "data:application/json;charset=utf-8;base64,")
        bundle.write_text(text)
    code, report = scan("dist/app.js", cwd=tmp_path)
    assert code == 1
    [finding] = report["findings"]
    lines = text.splitlines()
    map_line = next(i for i, t in enumerate(lines, 1) if "sourceMappingURL" in t)
    assert (finding["path"], finding["line"]) == ("dist/app.js", map_line)
    payload_at = lines[map_line - 1].index("base64,") + len("base64,")
    encoded = lines[map_line - 1][payload_at:]
    # the column is the base64 quad holding the start of the key
    decoded = base64.b64decode(encoded)
    quad = decoded.index(key.encode()) // 3 * 4
    assert finding["column"] == payload_at + quad + 1
    assert finding["decoded_from"] == ["base64"]
    assert (finding["original_source"], finding["original_line"]) == ("../src/config.js", 1)
    assert key not in json.dumps(report) and encoded[quad : quad + 40] not in json.dumps(report)


def obfuscate(tmp_path: Path, key: str, *options: str) -> str:
    source = tmp_path / "client.js"
    source.write_text(
        f"const apiKey = '{key}';\n"
        "export function ask(q) {\n"
        "  return fetch('https://api.deepseek.com/chat/completions', {\n"
        "    method: 'POST', headers: { Authorization: 'Bearer ' + apiKey }, body: q });\n"
        "}\n"
    )
    out = tmp_path / "client.obf.js"
    subprocess.run(
        [str(JS_BIN / "javascript-obfuscator"), str(source), "--output", str(out),
         "--string-array", "true", "--string-array-threshold", "1", *options],
        check=True, capture_output=True,
    )
    source.unlink()
    text = out.read_text()
    assert key not in text
    return text


@pytest.mark.parametrize(
    ("options", "chain"),
    [
        (("--unicode-escape-sequence", "true"), ["js-escape"]),
        (("--string-array-encoding", "base64", "--string-array-rotate", "true",
          "--string-array-shuffle", "true", "--compact", "true"), ["string-array", "base64"]),
    ],
)
def test_javascript_obfuscator_string_array(tmp_path, options, chain):
    key = new_key()
    obfuscate(tmp_path, key, *options)
    code, report = scan("client.obf.js", cwd=tmp_path)
    assert code == 1
    [finding] = report["findings"]
    assert finding["decoded_from"] == chain
    assert finding["fingerprint"] == fingerprint(key)


def test_escaped_key_in_a_multi_megabyte_line(tmp_path):
    key = new_key()
    escaped = "".join(f"\\x{ord(c):02x}" for c in key)
    before = "var a=" + "[1,2,3,'é'];" * 700_000  # 8+ MB on one line, non-ASCII too
    (tmp_path / "vendor.min.js").write_text(
        "/*! bundle */\n" + before + f"var k='{escaped}';" + "f();" * 1000 + "\n", encoding="utf-8"
    )
    code, report = scan("vendor.min.js", cwd=tmp_path)
    assert code == 1
    [finding] = report["findings"]
    assert (finding["line"], finding["column"]) == (2, len(before) + len("var k='") + 1)
    assert finding["decoded_from"] == ["js-escape"]
    assert key[:7] in finding["snippet"] and key not in finding["snippet"]
    assert escaped[:24] not in finding["snippet"]
    assert len(finding["snippet"]) < 120


def big_first_project(root: Path, key: str, table_bytes: int) -> None:
    """A project whose bundle's map lists a large generated table before the key's file."""
    esbuild_project(root, key)
    rows = ",\n".join(f"  [{i}, {i * 7 % 1000}, {i * 13 % 997}]" for i in range(table_bytes // 24))
    (root / "src" / "table.js").write_text(f"export const table = [\n{rows}\n];\n")
    (root / "src" / "app.js").write_text(
        'import { table } from "./table.js";\n'
        'import { baseUrl } from "./config.js";\n'
        "fetch(baseUrl + table.length).then((r) => console.log(r.status));\n"
    )


def test_a_map_larger_than_a_window_names_the_source_past_its_first_window(tmp_path):
    key = new_key()
    big_first_project(tmp_path, key, 10 << 20)
    esbuild(tmp_path, "--sourcemap", "--outfile=dist/app.js")
    raw = (tmp_path / "dist" / "app.js.map").read_bytes()
    assert len(raw) > WINDOW and raw.index(key.encode()) > WINDOW  # the key is in window 2
    code, report = scan("dist", cwd=tmp_path)
    assert code == 1
    [finding] = report["findings"]
    assert (finding["original_source"], finding["original_line"]) == ("../src/config.js", 1)
    at = raw.index(key.encode())
    line, column = raw.count(b"\n", 0, at) + 1, at - raw.rfind(b"\n", 0, at)
    assert (finding["line"], finding["column"]) == (line, column)
    assert not report["errors"]


def test_a_map_past_the_document_limit_is_scanned_and_said(tmp_path, monkeypatch):
    key = new_key()
    big_first_project(tmp_path, key, 3 << 20)
    esbuild(tmp_path, "--sourcemap", "--outfile=dist/app.js")
    monkeypatch.setattr(documents, "MAX_DOCUMENT", 2 << 20)  # the map is 3 MiB and more
    report = scan_paths([str(tmp_path / "dist")], Config())
    [finding] = report.findings
    assert finding.fingerprint == fingerprint(key)
    assert finding.original_source is None  # not named: the map was not kept whole
    [note] = [n for n in report.notes if "larger than 2 MiB" in n]
    assert note.startswith("app.js.map: ")  # the file, named as the scan names it
    assert "do not name the original source" in note
