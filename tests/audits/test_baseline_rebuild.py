"""Baselines that survive a rebuild: entries name build files without their content hash,
client-side keys need --accept-client, and the default file needs no --baseline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import REPO_ROOT, git, new_key, run_keysentry
from keysentry.model.key import fingerprint

ESBUILD = REPO_ROOT / "tests" / "js" / "node_modules" / ".bin" / "esbuild"
BASELINE = ".keysentry-baseline.json"


def write_sources(root: Path, key: str, version: int) -> None:
    (root / "src").mkdir(exist_ok=True)
    (root / "src" / "config.js").write_text(
        f'// deepseek test fixture (revoked)\nexport const demoKey = "{key}";\n'
    )
    (root / "src" / "api.js").write_text(
        'import { demoKey } from "./config.js";\n'
        f'export const ask = () => fetch("https://api.deepseek.com/v{version}",'
        " { headers: { Authorization: demoKey } });\n"
    )
    (root / "src" / "main.js").write_text(
        f'console.log("build {version}");\nimport("./api.js").then((m) => m.ask());\n'
    )


def build(root: Path) -> list[str]:
    """esbuild with content-hashed entry and chunk names; the files it wrote, sorted."""
    subprocess.run(
        [
            str(ESBUILD), "src/main.js", "--bundle", "--minify", "--splitting", "--format=esm",
            "--sourcemap", "--outdir=dist/assets", "--entry-names=[name]-[hash]",
            "--chunk-names=chunk-[hash]",
        ],
        cwd=root, check=True, capture_output=True,
    )
    return sorted(p.name for p in (root / "dist" / "assets").iterdir())


def test_a_baseline_survives_a_rebuild_that_renames_every_chunk(tmp_path):
    key = new_key()
    write_sources(tmp_path, key, 1)
    first = build(tmp_path)
    refused = run_keysentry("baseline", "create", cwd=tmp_path)
    assert refused.returncode == 2  # the bundle is client-side
    assert "--accept-client" in refused.stderr and "public to every user" in refused.stderr
    assert not (tmp_path / BASELINE).exists()

    created = run_keysentry("baseline", "create", "--accept-client", "--reason", "revoked",
                            cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    paths = {
        loc["path"]
        for entry in json.loads((tmp_path / BASELINE).read_text())["entries"]
        for loc in entry["locations"]
    }
    assert "src/config.js" in paths
    assert any(p.startswith("dist/assets/chunk-*.js") for p in paths), paths
    assert not any(name in p for p in paths for name in first)  # no hashed name recorded

    for old in (tmp_path / "dist" / "assets").iterdir():
        old.unlink()
    write_sources(tmp_path, key, 2)  # every module's hash changes
    second = build(tmp_path)
    assert not set(first) & set(second)
    # a plain scan picks the default baseline up: the rebuilt key is still accepted
    done = run_keysentry("scan", ".", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "accepted in" in done.stderr and "no longer hold" not in done.stderr
    check = run_keysentry("baseline", "check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr

    other = new_key()  # a new key in the rebuilt bundle still fails
    (tmp_path / "src" / "extra.js").write_text(f'export const k = "{other}"; // deepseek\n')
    found = run_keysentry("scan", ".", "-f", "json", cwd=tmp_path)
    assert found.returncode == 1
    assert {f["fingerprint"] for f in json.loads(found.stdout)["findings"]} == {fingerprint(other)}


def test_a_baseline_written_by_0_1_with_hashed_names_still_matches(tmp_path):
    key = new_key()
    write_sources(tmp_path, key, 1)
    names = build(tmp_path)
    chunk = next(n for n in names if n.startswith("chunk-") and n.endswith(".js"))
    line = next(
        i for i, t in enumerate((tmp_path / "dist/assets" / chunk).read_text().splitlines(), 1)
        if key in t
    )
    old = {
        "keysentry_baseline": 1,
        "generated_by": "keysentry 0.1.0",
        "entries": [{
            "fingerprint": fingerprint(key), "reason": "", "accepted_by": "", "accepted_at": "",
            "locations": [{"path": "src/config.js", "line": 2},
                          {"path": f"dist/assets/{chunk}", "line": line},
                          {"path": f"dist/assets/{chunk}.map", "line": 1}],
        }],
    }
    (tmp_path / BASELINE).write_text(json.dumps(old))
    assert run_keysentry("scan", ".", cwd=tmp_path).returncode == 0
    for stale in (tmp_path / "dist" / "assets").iterdir():
        stale.unlink()
    write_sources(tmp_path, key, 3)
    build(tmp_path)
    done = run_keysentry("scan", ".", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_history_hook_and_ci_pick_up_the_default_baseline(tmp_path):
    key = new_key()
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "fixture.py").write_text(f'DEEPSEEK_KEY = "{key}"  # revoked\n')
    assert run_keysentry("baseline", "create", cwd=tmp_path).returncode == 0
    git(tmp_path, "add", "-A")
    assert run_keysentry("hook", cwd=tmp_path).returncode == 0  # no configuration needed
    git(tmp_path, "commit", "-q", "-m", "fixture")
    history = run_keysentry("history", cwd=tmp_path)
    assert history.returncode == 0, history.stdout + history.stderr
    ci = run_keysentry("ci", "--range", "HEAD", cwd=tmp_path)
    assert ci.returncode == 0, ci.stdout + ci.stderr
    (tmp_path / BASELINE).unlink()
    assert run_keysentry("history", cwd=tmp_path).returncode == 1
