"""Every report names where a bundle key comes from (``original_source:line``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT, new_key, run_keysentry

ESBUILD = REPO_ROOT / "tests" / "js" / "node_modules" / ".bin" / "esbuild"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("app")
    key = new_key()
    (root / "src").mkdir()
    (root / "src" / "config.js").write_text(
        "// settings\nexport const apiKey = import.meta.env.VITE_DEEPSEEK_API_KEY;\n"
    )
    (root / "src" / "main.js").write_text(
        'import { apiKey } from "./config.js";\n'
        'fetch("https://api.deepseek.com/chat", { headers: { Authorization: apiKey } });\n'
    )
    subprocess.run(
        [str(ESBUILD), "src/main.js", "--bundle", "--minify", "--sourcemap",
         "--entry-names=[name]-[hash]", "--outdir=dist/assets",
         f'--define:import.meta.env.VITE_DEEPSEEK_API_KEY="{key}"'],
        cwd=root, check=True, capture_output=True,
    )
    return root, key


def report(root: Path, fmt: str) -> str:
    done = run_keysentry("scan", ".", "-f", fmt, cwd=root)
    assert done.returncode == 1, done.stderr
    return done.stdout


def test_json_places_the_bundle_key_in_its_source(app):
    root, _ = app
    (finding,) = json.loads(report(root, "json"))["findings"]
    assert finding["path"].startswith("dist/assets/main-")
    assert finding["original_source"] == "../../src/config.js"
    assert finding["original_line"] == 2
    assert finding["original_variable"] == "VITE_DEEPSEEK_API_KEY"


@pytest.mark.parametrize("fmt", ["text", "markdown", "github", "sarif", "gitlab"])
def test_every_human_and_ci_format_shows_the_source_place(app, fmt):
    root, key = app
    out = report(root, fmt).replace("\\_", "_")  # Markdown escapes underscores
    assert "src/config.js:2" in out, fmt
    assert "VITE_DEEPSEEK_API_KEY" in out, fmt
    assert key not in out


def test_a_broken_map_changes_nothing_and_loses_nothing(app, tmp_path):
    root, _ = app
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(root), str(copy)], check=True)
    for found in (copy / "dist" / "assets").glob("*.map"):
        found.write_text('{"version": 3, "sources": ["x"], "mappings": "%%%"}')
    done = run_keysentry("scan", "dist", "-f", "json", cwd=copy)
    assert done.returncode == 1
    findings = json.loads(done.stdout)["findings"]
    bundle = [f for f in findings if not f["path"].endswith(".map")]
    assert len(bundle) == 1 and "original_source" not in bundle[0]
