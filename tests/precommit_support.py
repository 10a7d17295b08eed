"""The real pre-commit framework, set up once per test session: a git snapshot of this
working tree as a hooks repository, and one hook environment shared by the xdist workers
through one PRE_COMMIT_HOME."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO_ROOT, git, git_env, tool

SKIPPED = ("tests/", "bench/")  # not part of the installed hook


@dataclass(frozen=True)
class HookSource:
    repo: Path  # a git snapshot of this working tree
    rev: str
    home: Path  # PRE_COMMIT_HOME, holding the one hook environment


def snapshot_tree(dest: Path) -> str:
    """This working tree (not its last commit) as a one-commit repository pre-commit can clone:
    every file git would see (tracked, or new and not ignored), tests and benchmarks aside."""
    listed = git(REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in sorted(set(listed.split("\0"))):
        if not name or name.startswith(SKIPPED) or not (REPO_ROOT / name).is_file():
            continue  # (a file deleted in the work tree is still listed as cached)
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, dest / name)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "snapshot for the pre-commit tests")
    return git(dest, "rev-parse", "HEAD").strip()


def precommit_env(home: Path) -> dict[str, str]:
    return git_env(PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")


def precommit_config(source: HookSource) -> str:
    return (
        "repos:\n"
        f"  - repo: {source.repo}\n"
        f"    rev: {source.rev}\n"
        "    hooks:\n"
        "      - id: keysentry\n"
    )


@pytest.fixture(scope="session")
def hook_source(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[HookSource]:
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # one folder for all workers
    root = shared / "pre-commit-hook"
    with open(shared / "pre-commit-hook.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "ready").exists():
            root.mkdir(exist_ok=True)
            rev = snapshot_tree(root / "hooks-repo")
            source = HookSource(root / "hooks-repo", rev, root / "home")
            warm = root / "warm-up"
            warm.mkdir()
            git(warm, "init", "-q", "-b", "main")
            (warm / ".pre-commit-config.yaml").write_text(precommit_config(source))
            subprocess.run(
                [tool("pre-commit"), "install-hooks"],
                cwd=warm, env=precommit_env(source.home), check=True, capture_output=True,
            )
            (root / "ready").write_text(rev)
        rev = (root / "ready").read_text()
    yield HookSource(root / "hooks-repo", rev, root / "home")
