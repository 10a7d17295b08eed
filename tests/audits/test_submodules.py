"""Issue 12 §6: ``keysentry history`` audits the history held by submodules
(``.git/modules``), labels findings by submodule path, and ``--no-submodules`` turns it off."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import commit_file, git, new_key, run_keysentry
from keysentry.model.key import fingerprint


def _submodule_project(tmp_path: Path) -> tuple[Path, str, str]:
    lib = tmp_path / "lib"
    lib.mkdir()
    git(lib, "init", "-q", "-b", "main")
    deleted = new_key()
    commit_file(lib, "settings.py", f"API_KEY = '{deleted}'\n", "add settings")
    commit_file(lib, "settings.py", "API_KEY = os.environ['API_KEY']\n", "use the environment")
    top = tmp_path / "app"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    own = new_key()
    commit_file(top, "app.py", f"KEY = '{own}'\n", "app")
    git(top, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    git(top, "commit", "-q", "-m", "vendor lib")
    return top, own, deleted


def _history(top: Path, *args: str) -> dict:
    proc = run_keysentry("history", "--quiet", "--format", "json", *args, str(top))
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)


def test_history_audits_submodule_history_under_its_path(tmp_path: Path) -> None:
    top, own, deleted = _submodule_project(tmp_path)
    assert (top / ".git" / "modules" / "vendor" / "lib" / "objects").is_dir()
    report = _history(top)
    paths = {f["fingerprint"]: f["path"] for f in report["findings"]}
    assert paths == {fingerprint(own): "app.py", fingerprint(deleted): "vendor/lib/settings.py"}
    assert report["stats"]["submodules_audited"] == 1
    # a linked worktree shares the common git dir: its submodules are audited once
    git(top, "worktree", "add", "-q", str(tmp_path / "wt"))
    again = _history(tmp_path / "wt")
    assert sorted(f["path"] for f in again["findings"]) == ["app.py", "vendor/lib/settings.py"]


def test_no_submodules_turns_it_off(tmp_path: Path) -> None:
    top, own, _ = _submodule_project(tmp_path)
    report = _history(top, "--no-submodules")
    assert [f["fingerprint"] for f in report["findings"]] == [fingerprint(own)]
