"""Issue 12 §2: keys split into string literals and joined in code, including the real
output of javascript-obfuscator (tests/js), found at their first piece as ``concat``."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT, new_key, run_keysentry
from keysentry.decoders import find_encoded
from keysentry.model.key import fingerprint

OBFUSCATOR = REPO_ROOT / "tests" / "js" / "node_modules" / ".bin" / "javascript-obfuscator"

SHAPES = [  # each language's way of joining literals
    pytest.param("const key = 'sk-' + '{a}' + '{b}';", id="js-plus"),
    pytest.param('String key = "sk-{a}" +\n    "{b}";', id="java-plus"),
    pytest.param('var key = "sk-" + "{a}" + "{b}"', id="go-plus"),
    pytest.param('let key = "s" + "k-{a}{b}"', id="kotlin-swift-dart"),
    pytest.param('var key = "sk" + "-{a}" + "{b}";', id="csharp"),
    pytest.param("KEY = (\n    'sk-{a}'\n    '{b}'\n)", id="python-implicit"),
    pytest.param("const key = ['sk-', '{a}', '{b}'].join('');", id="array-join"),
    pytest.param("const key = `sk-${{'{a}'}}{b}`;", id="template"),
    pytest.param('const key = `sk-{a}${{"{b}"}}`;', id="template-tail"),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_split_literals_joined(shape: str) -> None:
    key = new_key()
    source = shape.format(a=key[3:19], b=key[19:])
    found = find_encoded(source.encode()).keys
    assert [(k.key, k.chain) for k in found] == [(key, ("concat",))]
    first_piece = source.index("sk" if "sk" in source else '"s"') + ("sk" not in source)
    assert found[0].start == first_piece
    assert key not in found[0].context


@pytest.mark.parametrize(
    "source",
    [
        "x = ['sk-', '{a}', '{b}']",  # a list of strings, never joined
        "x = 'sk-' + '{a}' + '{b}a'",  # one hex digit too many once joined
        "x = 'sk-' + '{a}' + ident",  # the rest is not a literal
        "x = 'ask-' + '{a}' + '{b}'",  # part of a longer word once joined
        "x = 'sk-' + '{z}'",  # a placeholder once joined
    ],
)
def test_joins_keep_the_detectors_rules(source: str) -> None:
    key = new_key()
    text = source.format(a=key[3:19], b=key[19:], z="0" * 32)
    assert find_encoded(text.encode()).keys == []


def _obfuscate(tmp_path: Path, source: str, *options: str) -> Path:
    entry, out = tmp_path / "in.js", tmp_path / "app.min.js"
    entry.write_text(source)
    subprocess.run(
        [
            str(OBFUSCATOR),
            str(entry),
            "--output",
            str(out),
            "--split-strings",
            "true",
            "--split-strings-chunk-length",
            "5",
            *options,
        ],
        check=True,
        capture_output=True,
    )
    return out


@pytest.mark.parametrize("string_array", ["false", "true"])
def test_javascript_obfuscator_split_strings(string_array: str, tmp_path: Path) -> None:
    key = new_key()
    source = f"const client = {{ apiKey: '{key}', base: 'https://api.example.com' }};\n"
    source += "console.log(client.base);\n"
    out = _obfuscate(
        tmp_path, source, "--string-array", string_array, "--string-array-threshold", "1"
    )
    assert key not in out.read_text()  # split: no plain key left for the detector
    proc = run_keysentry("scan", "--format", "json", str(out))
    assert proc.returncode == 1, proc.stderr
    [finding] = json.loads(proc.stdout)["findings"]
    assert finding["fingerprint"] == fingerprint(key)
    assert finding["decoded_from"] == ["concat"]
    assert key not in proc.stdout


def test_string_array_found_when_the_rotation_loop_is_outside_the_searched_part(
    tmp_path: Path,
) -> None:
    """A window searched from its array piece on still tells the obfuscator's loop (which
    the multi-needle pass notes) from the bytes around the part it searched."""
    key = new_key()
    source = f"const client = {{ apiKey: '{key}' }};\nconsole.log(client);\n"
    out = _obfuscate(tmp_path, source, "--string-array", "true", "--string-array-threshold", "1")
    data = out.read_bytes()
    piece = re.search(rb"['\"]sk-[0-9a-f]*['\"]", data)
    assert piece is not None and b"['push'](" in data
    whole = [(k.start, k.key) for k in find_encoded(data).keys]
    assert [found for _, found in whole] == [key]
    at = piece.start() + 1  # the piece's first letter, where the pass meets it
    for start, stop in ((at, at + 1), (0, at + 1)):
        assert [(k.start, k.key) for k in find_encoded(data, start, stop).keys] == whole

