"""What the commands print: ``--help`` examples, ``ci`` text, the hook's cases."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ci_env, commit_file, git, new_key, run_keysentry

COMMANDS = [
    ("scan",), ("history",), ("guide",), ("hook",), ("ci",), ("install-hook",),
    ("plugin-path",), ("baseline", "create"), ("baseline", "update"), ("baseline", "check"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_ends_with_two_or_three_examples_that_name_the_command(command):
    done = run_keysentry(*command, "--help")
    assert done.returncode == 0
    tail = done.stdout.rstrip().split("Examples:")[-1].strip().splitlines()
    assert 2 <= len(tail) <= 3, done.stdout
    assert all(re.search(rf"\bkeysentry {' '.join(command)}\b", line) for line in tail[:2])


def test_ci_text_shows_each_history_findings_commit_and_the_commits_audited(git_repo):
    key = new_key()
    commit_file(git_repo, "README.md", "demo\n", "first")
    git(git_repo, "checkout", "-qb", "feature")
    tip = commit_file(git_repo, "app.py", f'DEEPSEEK_KEY = "{key}"\n', "add key")
    commit_file(git_repo, "docs.md", "docs\n", "docs")
    done = run_keysentry("ci", "--range", "main..feature", cwd=git_repo, env=ci_env())
    assert done.returncode == 1, done.stderr
    assert f"commit: {tip[:12]}" in done.stdout
    assert "and 2 commit(s) audited" in done.stdout


def test_a_root_commit_range_in_a_full_clone_gets_no_shallow_clone_advice(git_repo):
    root = commit_file(git_repo, "README.md", "demo\n", "first")
    commit_file(git_repo, "app.py", "x = 1\n", "second")
    done = run_keysentry("ci", "--range", f"{root}^..HEAD", cwd=git_repo, env=ci_env())
    assert done.returncode == 2
    assert "shallow" not in done.stderr and "fetch-depth" not in done.stderr
    assert "root commit" in done.stderr and "--range HEAD" in done.stderr


def _hook(repo: Path) -> str:
    done = run_keysentry("hook", cwd=repo)
    assert done.returncode == 1
    return done.stderr


def _repo_with_origin(tmp_path: Path) -> Path:
    """A repository on branch main whose origin is a bare repository beside it."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", str(remote))
    return repo


def test_the_hook_says_whether_a_staged_key_was_already_committed_or_pushed(tmp_path):
    repo = _repo_with_origin(tmp_path)
    pushed, local = new_key(), new_key()
    commit_file(repo, "server/a.py", f'DEEPSEEK_KEY = "{pushed}"\n', "a")
    git(repo, "push", "-q", "origin", "main")
    commit_file(repo, "server/b.py", f'DEEPSEEK_KEY = "{local}"\n', "b")

    (repo / "server" / "b.py").write_text(f'DEEPSEEK_KEY = "{local}"\nX = 1\n')
    git(repo, "add", "server/b.py")
    message = _hook(repo)
    assert "already committed (HEAD holds it in this file) but never pushed" in message
    assert "Rewrite local history before you push" in message
    assert "No need to revoke" not in message
    git(repo, "reset", "-q")

    (repo / "server" / "a.py").write_text(f'DEEPSEEK_KEY = "{pushed}"\nX = 1\n')
    git(repo, "add", "server/a.py")
    message = _hook(repo)
    assert "already PUSHED (origin/main holds it in this file)" in message
    assert "Revoke the pushed key(s) now" in message
    assert pushed not in message and local not in message


def test_guide_draws_the_audit_progress_line_on_a_terminal_only(git_repo):
    commit_file(git_repo, "app.py", f'DEEPSEEK_KEY = "{new_key()}"\n', "key")
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "keysentry", "guide"], cwd=git_repo, stdout=subprocess.PIPE,
            stderr=follower, env={**os.environ, "NO_COLOR": "1"}, check=False,
        )
        os.close(follower)
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(leader)
    assert done.returncode == 1
    assert b"keysentry: objects " in terminal  # the history audit's progress line
    piped = run_keysentry("guide", cwd=git_repo)
    assert "objects " not in piped.stderr


def test_the_hook_finds_a_pushed_key_in_a_spaced_file_name_and_redacts_a_key_in_a_branch_name(
    tmp_path,
):
    repo = _repo_with_origin(tmp_path)
    key, in_name = new_key(), new_key()
    commit_file(repo, "server/my settings.py", f'DEEPSEEK_KEY = "{key}"\n', "a")
    git(repo, "push", "-q", "origin", f"main:refs/heads/fix-{in_name}")  # a key in a branch name
    git(repo, "fetch", "-q", "origin")
    git(repo, "reset", "-q", "--hard", "HEAD")
    (repo / "server" / "my settings.py").write_text(f'DEEPSEEK_KEY = "{key}"\nX = 1\n')
    git(repo, "add", "server/my settings.py")
    message = _hook(repo)
    assert "already PUSHED (origin/fix-sk-" in message
    assert in_name not in message and key not in message
