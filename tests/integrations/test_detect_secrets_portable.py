"""A detect-secrets baseline made on one machine works on another (issue 16 §1).

Two real virtualenvs at different paths, each with keysentry installed from a wheel of
this tree and the real detect-secrets CLIs: the baseline is made in the first, which is
then deleted (as another machine would not have it), and used in the second.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import git, new_key

SHIM = "tools/keysentry_detect_secrets.py"


@pytest.fixture(scope="module")
def machines(keysentry_venvs) -> tuple[Path, Path]:
    """The bin folders of two virtualenvs: one at machine-a/venv, one at other/place/env."""
    return keysentry_venvs("machine-a/venv", "other/place/env")


def run(bin_dir: Path, tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / tool), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def deepseek_lines(baseline: dict) -> dict[str, list[int]]:
    return {
        name: [r["line_number"] for r in rows if r["type"] == "DeepSeek API Key"]
        for name, rows in baseline["results"].items()
    }


def test_a_baseline_made_in_one_venv_blocks_new_keys_from_another(machines, git_repo):
    a, b = machines
    old, new = new_key(), new_key()
    (git_repo / "legacy.py").write_text(f'client = OpenAI(api_key="{old}")\n')
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "legacy")

    made = run(a, "keysentry", "detect-secrets-init", cwd=git_repo)
    assert made.returncode == 0, made.stderr
    assert (git_repo / SHIM).read_text().startswith("from keysentry.integrations")
    baseline = json.loads((git_repo / ".secrets.baseline").read_text())
    assert {"name": "DeepSeekDetector", "path": f"file://{SHIM}"} in baseline["plugins_used"]
    assert str(a.parent) not in (git_repo / ".secrets.baseline").read_text()
    assert deepseek_lines(baseline) == {"legacy.py": [1]}

    # the old way, for contrast: the plugin's absolute path inside venv A
    plugin = run(a, "keysentry", "plugin-path", cwd=git_repo).stdout.strip()
    assert plugin.startswith(str(a.parent))
    absolute = run(a, "detect-secrets", "scan", "--plugin", plugin, cwd=git_repo)
    (git_repo / "absolute.baseline").write_text(absolute.stdout)
    shutil.rmtree(a.parent)  # machine A is gone: CI runners, colleagues, pre-commit caches

    (git_repo / "new.py").write_text(f"x = 1\nclient = OpenAI(api_key='{new}')\n")
    blocked = run(
        b,
        "detect-secrets-hook",
        "--baseline",
        ".secrets.baseline",
        "legacy.py",
        "new.py",
        cwd=git_repo,
    )
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert "Secret Type: DeepSeek API Key" in output and "new.py:2" in output
    assert "legacy.py" not in output and new not in output

    broken = run(
        b, "detect-secrets-hook", "--baseline", "absolute.baseline", "new.py", cwd=git_repo
    )
    assert "DeepSeek API Key" not in broken.stdout + broken.stderr  # what the shim fixes

    git(git_repo, "add", "new.py")  # detect-secrets scan reads the files git tracks
    rescanned = run(b, "detect-secrets", "scan", "--baseline", ".secrets.baseline", cwd=git_repo)
    assert rescanned.returncode == 0, rescanned.stderr
    again = json.loads((git_repo / ".secrets.baseline").read_text())
    assert {"name": "DeepSeekDetector", "path": f"file://{SHIM}"} in again["plugins_used"]
    assert deepseek_lines(again) == {"legacy.py": [1], "new.py": [2]}


def test_detect_secrets_report_works_where_audit_report_fails(machines, git_repo):
    """Upstream #611: `detect-secrets audit --report` cannot load a custom plugin."""
    _, b = machines
    key = new_key()
    (git_repo / "app.py").write_text(f'DEEPSEEK_API_KEY = "{key}"\n')
    git(git_repo, "add", "app.py")
    assert run(b, "keysentry", "detect-secrets-init", cwd=git_repo).returncode == 0
    upstream = run(b, "detect-secrets", "audit", "--report", ".secrets.baseline", cwd=git_repo)
    assert upstream.returncode != 0 and "TypeError" in upstream.stderr
    ours = run(b, "keysentry", "detect-secrets-report", ".secrets.baseline", cwd=git_repo)
    assert ours.returncode == 0, ours.stderr
    (result,) = [r for r in json.loads(ours.stdout)["results"] if r["filename"] == "app.py"]
    assert "DeepSeek API Key" in result["types"]
    assert result["secrets"] == f"{key[:7]}...{key[-4:]}" and key not in ours.stdout
    private = git_repo / "report.json"
    shown = run(
        b,
        "keysentry",
        "detect-secrets-report",
        ".secrets.baseline",
        "--show-secrets",
        "-o",
        str(private),
        cwd=git_repo,
    )
    assert shown.returncode == 0, shown.stderr
    assert private.stat().st_mode & 0o777 == 0o600
    assert json.loads(private.read_text())["results"][0]["secrets"] == key


def test_init_repoints_a_baseline_that_names_an_installed_plugin(machines, git_repo):
    """Baselines made the README's old way (…/keysentry/plugins/detect_secrets.py)."""
    _, b = machines
    key = new_key()
    (git_repo / "a.env").write_text(f"DEEPSEEK_API_KEY={key}\n")
    git(git_repo, "add", "a.env")
    legacy_plugin = next((b.parent / "lib").glob("python3*/site-packages/keysentry/plugins"))
    made = run(
        b,
        "detect-secrets",
        "scan",
        "--plugin",
        str(legacy_plugin / "detect_secrets.py"),
        cwd=git_repo,
    )
    assert made.returncode == 0, made.stderr  # the 0.1 path still loads where it exists
    assert deepseek_lines(json.loads(made.stdout)) == {"a.env": [1]}
    (git_repo / ".secrets.baseline").write_text(made.stdout)
    fixed = run(b, "keysentry", "detect-secrets-init", cwd=git_repo)
    assert fixed.returncode == 0 and "replaced plugin path file:///" in fixed.stderr
    baseline = json.loads((git_repo / ".secrets.baseline").read_text())
    ours = [p for p in baseline["plugins_used"] if p["name"] == "DeepSeekDetector"]
    assert ours == [{"name": "DeepSeekDetector", "path": f"file://{SHIM}"}]
    assert (
        baseline["results"]["a.env"][0]["hashed_secret"] == hashlib.sha1(key.encode()).hexdigest()
    )
    (git_repo / SHIM).write_text("print('not ours')\n")
    clash = run(b, "keysentry", "detect-secrets-init", cwd=git_repo)
    assert clash.returncode == 2 and "is not keysentry's shim" in clash.stderr
