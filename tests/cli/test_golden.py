"""Golden reports: what users see does not change when the code is moved around.

A fixture tree and a fixture repository are built at run time from seeded keys (so
every run builds the same bytes and the same commit ids); the reports of ``scan``,
``scan --staged``, ``history``, ``guide --format json`` and SARIF are compared with
the files under ``tests/golden/``, byte for byte once timestamps and the temporary
directory are masked. Regenerate with ``KEYSENTRY_GOLDEN_UPDATE=1`` only for a change
that is meant to change what users see, and say so in the commit.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import random
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import git_env, run_keysentry, tar_bytes

GOLDEN = Path(__file__).parent / "golden"
SEED = 20261201
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")


def seeded_keys(count: int) -> list[str]:
    rng = random.Random(SEED)
    return [f"sk-{rng.getrandbits(128):032x}" for _ in range(count)]


def _git(repo: Path, *args: str, when: int = 0) -> str:
    stamp = f"@{1700000000 + when} +0000"
    env = git_env(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout


def build_tree(root: Path, keys: list[str]) -> None:
    (root / "src").mkdir(parents=True)
    (root / "server").mkdir()
    (root / "dist" / "assets").mkdir(parents=True)
    (root / "package.json").write_text('{"name": "web", "dependencies": {"react": "18.2.0"}}\n')
    (root / "src" / "App.jsx").write_text(
        f'import React from "react";\nconst deepseek = "{keys[0]}";\nexport default deepseek;\n'
    )
    (root / "server" / "main.py").write_text(
        f'from fastapi import FastAPI\nDEEPSEEK_API_KEY = "{keys[1]}"\napp = FastAPI()\n'
    )
    (root / ".env").write_text(f"DASHSCOPE_API_KEY={keys[2]}\n")
    (root / "dist" / "assets" / "main.js").write_text(
        f'var a="{keys[0]}";fetch("https://api.deepseek.com/chat",{{headers:{{b:a}}}});\n'
    )
    (root / "dist" / "assets" / "vendor.js.gz").write_bytes(
        gzip.compress(f'const k = "{keys[3]}"; // deepseek\n'.encode(), mtime=0)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("config/settings.json", date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(info, json.dumps({"deepseek_api_key": keys[4]}))
    (root / "release.zip").write_bytes(buffer.getvalue())
    (root / "image.tar").write_bytes(_image(keys[10]))
    encoded = base64.b64encode(keys[5].encode()).decode()
    (root / "notes.txt").write_text(f"placeholder sk-{'0' * 32} and base64 of a key:\n{encoded}\n")


def _image(key: str) -> bytes:
    """A ``docker save`` tarball whose top layer deletes the file holding the key."""
    base = tar_bytes({"app/.env": f"DEEPSEEK_API_KEY={key}\n".encode()})
    top = tar_bytes({"app/.wh..env": b""})
    manifest = [{"Config": "config.json", "Layers": ["base/layer.tar", "top/layer.tar"]}]
    return tar_bytes(
        {
            "base/layer.tar": base,
            "top/layer.tar": top,
            "config.json": b'{"config": {"Cmd": ["sh"]}}',
            "manifest.json": json.dumps(manifest).encode(),
        }
    )


def build_repo(repo: Path, keys: list[str]) -> None:
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("demo\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first", when=1)
    (repo / "app").mkdir()
    (repo / "app" / "settings.py").write_text(f"DEEPSEEK_KEY = '{keys[6]}'\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "add settings", when=2)
    _git(repo, "rm", "-q", "app/settings.py")
    _git(repo, "commit", "-q", "-m", f"remove it (was {keys[7]})", when=3)
    _git(repo, "tag", "-a", "v1", "-m", "release", when=4)
    (repo / "web").mkdir()
    (repo / "web" / "index.html").write_text(f"<script>const key = '{keys[8]}';</script>\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "web", when=5)
    (repo / "staged.js").write_text(f"export const deepseekKey = '{keys[9]}';\n")
    _git(repo, "add", "staged.js")


def mask(text: str, *roots: Path) -> str:
    for root in roots:
        text = text.replace(str(root), "<ROOT>")
    return _TIMESTAMP.sub("<TIME>", text)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("golden")
    keys = seeded_keys(11)
    tree, repo = base / "tree", base / "repo"
    build_tree(tree, keys)
    build_repo(repo, keys)
    return base, tree, repo


CASES = {
    "scan.json": (["scan", ".", "--format", "json"], "tree"),
    "scan.sarif": (["scan", ".", "--format", "sarif"], "tree"),
    "scan.txt": (["scan", ".", "--no-color"], "tree"),
    "staged.json": (["scan", "--staged", "--format", "json"], "repo"),
    "history.json": (["history", ".", "--format", "json"], "repo"),
    "history.sarif": (["history", ".", "--format", "sarif"], "repo"),
    "history.txt": (["history", ".", "--no-color"], "repo"),
    "guide.json": (["guide", "--format", "json", "--no-color"], "repo"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_report_matches_golden(fixtures, name):
    base, tree, repo = fixtures
    args, where = CASES[name]
    cwd = tree if where == "tree" else repo
    done = run_keysentry(*args, cwd=cwd, env={"COLUMNS": "100"})
    assert done.returncode in (0, 1, 2), done.stderr
    produced = mask(f"exit {done.returncode}\n{done.stdout}", base)
    golden = GOLDEN / name
    if os.environ.get("KEYSENTRY_GOLDEN_UPDATE"):
        golden.write_text(produced)
    assert produced == golden.read_text()
