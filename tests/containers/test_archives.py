"""Compressed and packed files: members scanned in memory, limits, bad input."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import struct
import subprocess
import zipfile
from pathlib import Path

import brotli
import pytest

from conftest import REPO_ROOT, git, new_key, run_keysentry, tar_bytes

JS_BIN = REPO_ROOT / "tests" / "js" / "node_modules" / ".bin"


def scan(*args: str, cwd: Path) -> tuple[int, dict, str]:
    proc = run_keysentry("scan", *args, "--format", "json", cwd=cwd)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def by_key(report: dict) -> dict[str, dict]:
    return {f["fingerprint"]: f for f in report["findings"]}


def fp(key: str) -> str:
    from keysentry.model.finding import fingerprint

    return fingerprint(key)


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buf.getvalue()


def js(key: str) -> bytes:
    return f'// settings\nexport const apiKey = "{key}";\n'.encode()


def test_compressed_and_packed_files(tmp_path):
    keys = {name: new_key() for name in ("gz", "br", "zip", "jar", "apk", "crx", "whl", "docx")}
    keys["tar"] = new_key()
    long_name = "node_modules/" + "nested-package/" * 12 + "dist/index.js"  # needs a pax header
    tar = tar_bytes({"a.txt": b"x" * 700, long_name: js(keys["tar"])})
    (tmp_path / "layer.tar").write_bytes(tar)
    (tmp_path / "app.js.gz").write_bytes(gzip.compress(js(keys["gz"])))
    (tmp_path / "app.js.br").write_bytes(brotli.compress(js(keys["br"])))
    for kind in ("zip", "jar", "apk", "whl", "docx"):
        member = "word/document.xml" if kind == "docx" else "assets/app.js"
        (tmp_path / f"pkg.{kind}").write_bytes(zip_bytes({"a/": b"", member: js(keys[kind])}))
    # a Chrome extension (CRX3): "Cr24", version 3, header length, header, then a zip
    header = b"\x12\x00" * 8
    crx = b"Cr24" + struct.pack("<II", 3, len(header)) + header
    crx += zip_bytes({"background.js": js(keys["crx"])})
    (tmp_path / "ext.crx").write_bytes(crx)
    code, report, _ = scan(".", cwd=tmp_path)
    assert code == 1 and report["errors"] == []
    found = by_key(report)
    expect = {
        "gz": ("app.js.gz", ["gzip"]),
        "br": ("app.js.br", ["brotli"]),
        "zip": ("pkg.zip!assets/app.js", ["zip"]),
        "jar": ("pkg.jar!assets/app.js", ["zip"]),
        "apk": ("pkg.apk!assets/app.js", ["zip"]),
        "whl": ("pkg.whl!assets/app.js", ["zip"]),
        "docx": ("pkg.docx!word/document.xml", ["zip"]),
        "crx": ("ext.crx!background.js", ["zip"]),
        "tar": (f"layer.tar!{long_name}", ["tar"]),
    }
    for name, (path, chain) in expect.items():
        finding = found[fp(keys[name])]
        assert (finding["path"], finding["decoded_from"]) == (path, chain), name
        assert (finding["line"], finding["column"]) == (2, 24), name


def test_npm_pack_tarball_and_nesting(tmp_path):
    """A real ``npm pack`` tarball, inside a zip, with base64 inside gzip inside the zip too."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    key, deep_key = new_key(), new_key()
    (pkg / "package.json").write_text('{"name": "tiny-pkg", "version": "1.0.0"}')
    (pkg / "index.js").write_bytes(js(key))
    subprocess.run(["npm", "pack", "--silent"], cwd=pkg, check=True, capture_output=True)
    tarball = (pkg / "tiny-pkg-1.0.0.tgz").read_bytes()
    secret_yaml = b"data:\n  token: " + base64.b64encode(deep_key.encode()) + b"\n"
    (tmp_path / "bundle.zip").write_bytes(
        zip_bytes({"vendor/tiny.tgz": tarball, "k8s/secret.yaml.gz": gzip.compress(secret_yaml)})
    )
    (tmp_path / "tiny.tgz").write_bytes(tarball)
    code, report, _ = scan("bundle.zip", "tiny.tgz", cwd=tmp_path)
    assert code == 1 and report["errors"] == []
    paths = sorted((f["path"], f["decoded_from"], f["line"]) for f in report["findings"])
    assert paths == [
        ("bundle.zip!k8s/secret.yaml.gz", ["zip", "gzip", "base64"], 2),
        ("bundle.zip!vendor/tiny.tgz!package/index.js", ["zip", "gzip", "tar"], 2),
        ("tiny.tgz!package/index.js", ["gzip", "tar"], 2),
    ]
    assert {f["fingerprint"] for f in report["findings"]} == {fp(key), fp(deep_key)}


def test_electron_asar_built_with_electron_asar(tmp_path):
    app = tmp_path / "app"
    (app / "dist").mkdir(parents=True)
    key = new_key()
    (app / "package.json").write_text('{"name": "app", "main": "dist/main.js"}')
    (app / "dist" / "main.js").write_bytes(b"require('electron');\n" + js(key))
    subprocess.run([str(JS_BIN / "asar"), "pack", str(app), str(tmp_path / "app.asar")], check=True)
    code, report, _ = scan("app.asar", cwd=tmp_path)
    assert code == 1
    [finding] = report["findings"]
    assert (finding["path"], finding["decoded_from"], finding["line"]) == (
        "app.asar!dist/main.js",
        ["asar"],
        3,
    )


def test_notebook_names_cell_and_line(tmp_path):
    key = new_key()
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Setup\n"]},
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 1,
                "outputs": [],
                "source": ["import os\n", "\n", f'client = OpenAI(api_key="{key}")\n'],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "demo.ipynb").write_text(json.dumps(notebook, indent=1))
    code, report, _ = scan("demo.ipynb", cwd=tmp_path)
    assert code == 1
    [finding] = report["findings"]
    raw_line = next(
        i
        for i, text in enumerate((tmp_path / "demo.ipynb").read_text().splitlines(), 1)
        if key in text
    )
    assert finding["path"] == "demo.ipynb" and finding["line"] == raw_line
    assert (finding["notebook_cell"], finding["cell_line"]) == (2, 3)


def test_staged_archive_is_unpacked(git_repo):
    key = new_key()
    (git_repo / "release.zip").write_bytes(zip_bytes({"static/app.js": js(key)}))
    git(git_repo, "add", "release.zip")
    code, report, _ = scan("--staged", cwd=git_repo)
    assert code == 1
    [finding] = report["findings"]
    assert (finding["path"], finding["decoded_from"]) == ("release.zip!static/app.js", ["zip"])


def test_no_decode_scans_bytes_as_they_are(tmp_path):
    (tmp_path / "a.js.gz").write_bytes(gzip.compress(js(new_key())))
    (tmp_path / "b.txt").write_bytes(base64.b64encode(js(new_key())))
    code, report, _ = scan(".", "--no-decode", cwd=tmp_path)
    assert (code, report["findings"]) == (0, [])
    (tmp_path / ".keysentry.toml").write_text("decode = false\n")
    code, report, _ = scan(".", cwd=tmp_path)
    assert (code, report["findings"]) == (0, [])


# --- bad input -------------------------------------------------------------------


def test_gzip_bomb_stops_with_a_reason_and_the_scan_goes_on(tmp_path):
    (tmp_path / "bomb.js.gz").write_bytes(gzip.compress(b"\0" * (32 << 20), 9))
    key = new_key()
    (tmp_path / "ok.js").write_bytes(js(key))
    code, report, stderr = scan(".", cwd=tmp_path)
    assert code == 1 and [f["path"] for f in report["findings"]] == ["ok.js"]
    [error] = report["errors"]
    assert error["path"] == "bomb.js.gz" and "compression ratio over 100:1" in error["message"]
    assert "bomb.js.gz" in stderr
    assert report["stats"]["bytes_decompressed"] <= 18 << 20  # of 32 MiB


def test_zip_bomb_member_and_size_limit(tmp_path):
    key, later = new_key(), new_key()
    (tmp_path / "bomb.zip").write_bytes(
        zip_bytes({"a.js": js(key), "zeros.bin": b"\0" * (32 << 20), "later.js": js(later)})
    )
    code, report, _ = scan("bomb.zip", cwd=tmp_path)
    assert code == 1
    assert [f["path"] for f in report["findings"]] == ["bomb.zip!a.js", "bomb.zip!later.js"]
    [error] = report["errors"]  # issue 17 §9: the ratio limit stops only that member
    assert error["path"] == "bomb.zip!zeros.bin"
    assert "possible decompression bomb" in error["message"]
    assert "this member only; the next are scanned" in error["message"]
    # the total size limit, from configuration: incomplete (2) when nothing was found
    (tmp_path / "big.txt.gz").write_bytes(gzip.compress(os.urandom(3 << 20).hex().encode()))
    (tmp_path / ".keysentry.toml").write_text("max_decompressed_mb = 1\n")
    code, report, _ = scan("big.txt.gz", cwd=tmp_path)
    assert code == 2
    assert "exceeds 1 MiB (max_decompressed_mb)" in report["errors"][0]["message"]


def test_nested_archives_stop_at_the_depth_limit(tmp_path):
    key = new_key()
    data = js(key)
    for level in range(4):
        data = zip_bytes({f"level{level}.zip" if level else "app.js": data})
    (tmp_path / "deep.zip").write_bytes(data)
    code, report, _ = scan("deep.zip", cwd=tmp_path)
    assert code == 1 and report["findings"][0]["decoded_from"] == ["zip"] * 4
    (tmp_path / ".keysentry.toml").write_text("max_decode_depth = 2\n")
    code, report, _ = scan("deep.zip", cwd=tmp_path)
    assert (code, report["findings"]) == (2, [])
    [error] = report["errors"]
    assert error["path"] == "deep.zip!level3.zip!level2.zip"
    assert "nested deeper than 2 levels" in error["message"]


def test_corrupt_truncated_and_encrypted(tmp_path):
    stored_key, gz_key, good_key = new_key(), new_key(), new_key()
    whole = zip_bytes({"a.js": js(stored_key)}, zipfile.ZIP_STORED)
    (tmp_path / "cut.zip").write_bytes(whole[: len(whole) // 2 + 40])  # no central directory
    text = js(gz_key) + os.urandom(1 << 20).hex().encode()
    (tmp_path / "cut.js.gz").write_bytes(gzip.compress(text)[:-5000])
    # an encrypted member: the "encrypted" flag set in both headers
    locked = bytearray(zip_bytes({"secret.js": b"x" * 100, "open.js": js(good_key)}))
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = locked.find(signature)
        locked[at + flag_at] |= 1
    (tmp_path / "locked.zip").write_bytes(bytes(locked))
    (tmp_path / "notzip.zip").write_bytes(b"PK\x03\x04 but not really a zip")
    tar_key = new_key()
    whole_tar = tar_bytes({"first.js": js(tar_key), "second.js": os.urandom(4096)}, "w:gz")
    (tmp_path / "cut.tgz").write_bytes(gzip.compress(gzip.decompress(whole_tar)[:2048]))
    code, report, stderr = scan(".", cwd=tmp_path)
    assert code == 1
    found = {f["fingerprint"]: f["path"] for f in report["findings"]}
    assert found == {
        fp(stored_key): "cut.zip",
        fp(gz_key): "cut.js.gz",
        fp(good_key): "locked.zip!open.js",
        fp(tar_key): "cut.tgz!first.js",
    }
    errors = {e["path"]: e["message"] for e in report["errors"]}
    assert "not a readable zip archive" in errors["cut.zip"]
    assert "corrupt or truncated" in errors["cut.js.gz"]
    assert "encrypted zip member" in errors["locked.zip!secret.js"]
    assert "not a readable zip archive" in errors["notzip.zip"]
    assert errors["cut.tgz!second.js"] == (
        "corrupt or truncated data (the archive ends inside a member);"
        " later members of the tar were not scanned"
    )
    assert all(path in stderr for path in errors)


def test_member_names_that_climb_out_are_reported_never_extracted(tmp_path):
    key = new_key()
    work = tmp_path / "work"
    work.mkdir()
    (work / "evil.zip").write_bytes(zip_bytes({"../../escape.js": js(key), "/etc/abs.js": b"x"}))
    before = sorted(p.name for p in tmp_path.iterdir())
    code, report, stderr = scan("evil.zip", cwd=work)
    assert code == 1 and report["findings"][0]["path"] == "evil.zip!../../escape.js"
    assert report["errors"] == []
    assert "evil.zip!../../escape.js: member name climbs out of the archive" in stderr
    assert "evil.zip!/etc/abs.js: member name has an absolute path" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not Path("/etc/abs.js").exists()


def test_huge_base64_run_and_oversized_inline_map(tmp_path):
    key = new_key()
    payload = os.urandom(9 << 20) + b"key=" + key.encode() + b";" + os.urandom(100)
    line = b"//# sourceMappingURL=data:application/json;base64,"
    (tmp_path / "huge.js").write_bytes(b"run();\n" + line + base64.b64encode(payload) + b"\n")
    code, report, stderr = scan("huge.js", cwd=tmp_path)
    assert code == 1 and report["errors"] == []
    [finding] = report["findings"]
    assert finding["decoded_from"] == ["base64"] and finding["line"] == 2
    assert finding["column"] == len(line) + ((9 << 20) + len(b"key=")) * 4 // 3 + 1
    assert "inline source map" in stderr and "runs past the end of the window" in stderr


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("x.gz", "gzip: corrupt or truncated data"),
        ("x.br", "brotli: corrupt brotli data"),
        ("x.asar", "asar: not a readable asar archive"),
        ("x.tar", None),  # tar is known by its header, not by its name: plain text
    ],
)
def test_not_what_the_name_or_magic_says(tmp_path, name, error):
    key = new_key()
    (tmp_path / name).write_bytes(b"\x1f\x8b\x08" * (name == "x.gz") + b"junk " + js(key))
    code, report, _ = scan(name, cwd=tmp_path)
    assert code == 1 and [f["path"] for f in report["findings"]] == [name]
    messages = [e["message"] for e in report["errors"]]
    assert messages == ([] if error is None else [messages[0]])
    assert error is None or messages[0].startswith(error)
