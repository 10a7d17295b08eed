"""The client-side pre-push hook (through `keysentry install-hook --pre-push` and through the
real pre-commit framework) and `keysentry install-hook --pre-receive`, with real `git push`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import commit_file, git, new_key, run_keysentry, tool
from keysentry.integrations.git_hook import PRE_RECEIVE
from keysentry.model.key import redact
from precommit_support import HookSource, precommit_env
from push_support import Server, clone, make_server, push


@pytest.fixture
def server(tmp_path: Path) -> Server:
    return make_server(tmp_path, hook=False)


def assert_blocked(done: subprocess.CompletedProcess[str], key: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "keysentry: push rejected" in output
    assert redact(key) in output
    assert key not in output
    assert "git push --no-verify" in output


@pytest.fixture
def hooked(server: Server, tmp_path: Path) -> Path:
    repo = clone(server, tmp_path / "work")
    done = run_keysentry("install-hook", "--pre-push", str(repo))
    assert done.returncode == 0, done.stderr
    assert "installed the pre-push hook" in done.stdout
    commit_file(repo, "README.md", "hello\n", "first")
    assert push(repo, "origin", "main").returncode == 0
    return repo


def test_install_hook_pre_push_blocks_a_push_with_a_key(server, hooked):
    before = server.ref("main")
    key = new_key()
    commit_file(hooked, "src/client.js", f'fetch(url, {{key: "{key}"}});\n', "client")

    done = push(hooked, "origin", "main")

    assert_blocked(done, key)
    assert "src/client.js:1:" in done.stderr
    assert server.ref("main") == before
    git(hooked, "reset", "-q", "--hard", "HEAD~1")
    commit_file(hooked, "src/client.js", "fetch(url);\n", "client")
    assert push(hooked, "origin", "main").returncode == 0
    assert server.ref("main") == git(hooked, "rev-parse", "HEAD").strip()


def test_pre_push_checks_messages_and_compares_a_new_branch_with_the_remote(server, hooked):
    old = new_key()  # pushed unchecked once: already on the remote
    commit_file(hooked, "old.py", f"K = '{old}'\n", "old")
    assert push(hooked, "--no-verify", "origin", "main").returncode == 0
    git(hooked, "checkout", "-q", "-b", "feature")

    assert push(hooked, "origin", "feature").returncode == 0  # nothing new to send

    key = new_key()
    commit_file(hooked, "notes.txt", "n\n", f"try {key}")
    done = push(hooked, "origin", "feature")
    assert_blocked(done, key)
    assert "(commit message)" in done.stderr
    assert redact(old) not in done.stderr


def _precommit_repo(server: Server, tmp_path: Path, source: HookSource) -> Path:
    repo = clone(server, tmp_path / "pc")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {source.repo}\n    rev: {source.rev}\n    hooks:\n"
        "      - id: keysentry-pre-push\n"
    )
    subprocess.run(
        [tool("pre-commit"), "install", "-t", "pre-push"],
        cwd=repo,
        env=precommit_env(source.home),
        check=True,
        capture_output=True,
    )
    return repo


def precommit_push(repo: Path, source: HookSource, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", *args],
        cwd=repo,
        env=precommit_env(source.home),
        capture_output=True,
        text=True,
        check=False,
    )


def test_pre_commit_framework_pre_push_stage(server, tmp_path, hook_source):
    repo = _precommit_repo(server, tmp_path, hook_source)
    first = new_key()
    git(repo, "add", ".pre-commit-config.yaml")
    commit_file(repo, "config.py", f"KEY = '{first}'\n", "first")

    assert_blocked(precommit_push(repo, hook_source, "origin", "main"), first)  # whole history
    assert server.ref("main") is None

    git(repo, "rm", "-q", "config.py")
    git(repo, "commit", "-q", "--amend", "-m", "first")
    done = precommit_push(repo, hook_source, "origin", "main")
    assert done.returncode == 0, done.stdout + done.stderr

    key = new_key()
    commit_file(repo, "later.py", f"KEY = '{key}'\n", "later")  # from the remote's tip on
    done = precommit_push(repo, hook_source, "origin", "main")
    assert_blocked(done, key)
    assert "later.py:1:" in done.stdout + done.stderr


def test_install_hook_pre_receive_into_a_bare_repository(server, tmp_path):
    done = run_keysentry("install-hook", "--pre-receive", str(server.bare))
    assert done.returncode == 0, done.stderr
    hook = server.bare / "hooks" / "pre-receive"
    assert PRE_RECEIVE.marker in hook.read_text()
    again = run_keysentry("install-hook", "--pre-receive", str(server.bare))
    assert "already installed" in again.stdout

    hook.write_text("#!/bin/sh\nexit 0\n")
    refused = run_keysentry("install-hook", "--pre-receive", str(server.bare))
    assert refused.returncode == 2 and "pre-receive.keysentry-backup" in refused.stderr
    forced = run_keysentry("install-hook", "--pre-receive", "--force", str(server.bare))
    assert forced.returncode == 0
    assert (server.bare / "hooks" / "pre-receive.keysentry-backup").read_text() == (
        "#!/bin/sh\nexit 0\n"
    )
    nowhere = run_keysentry("install-hook", "--pre-receive", str(tmp_path / "missing"))
    assert nowhere.returncode == 2 and "no such directory" in nowhere.stderr
    misuse = run_keysentry("install-hook", "--pre-push", "--allow-bypass", str(server.bare))
    assert misuse.returncode == 2 and "--allow-bypass goes with --pre-receive" in misuse.stderr


def test_pre_push_hook_is_refused_in_a_bare_repository(server):
    done = run_keysentry("install-hook", "--pre-push", str(server.bare))
    assert done.returncode == 2
    assert "keysentry install-hook --pre-receive" in done.stderr


def test_pre_commit_framework_checks_every_branch_of_a_push_of_several(
    server, tmp_path, hook_source
):
    """pre-commit hands the hook only the first pushed ref (its hook_impl stops at the first
    line of git's input with something to send): the key on the second branch is still
    found, and pushing both once it is gone goes through."""
    repo = _precommit_repo(server, tmp_path, hook_source)
    git(repo, "add", ".pre-commit-config.yaml")
    commit_file(repo, "README.md", "hello\n", "first")
    assert precommit_push(repo, hook_source, "origin", "main").returncode == 0
    git(repo, "checkout", "-q", "-b", "aaa-docs")  # sorts first: pre-commit names this one
    commit_file(repo, "docs.md", "docs\n", "docs")
    git(repo, "checkout", "-q", "-b", "zzz-client", "main")
    key = new_key()
    commit_file(repo, "client.js", f'const key = "{key}";\n', "client")

    done = precommit_push(repo, hook_source, "origin", "aaa-docs", "zzz-client")

    assert_blocked(done, key)
    assert "client.js:1:" in done.stdout + done.stderr
    assert server.ref("aaa-docs") is None and server.ref("zzz-client") is None
    git(repo, "rm", "-q", "client.js")
    git(repo, "commit", "-q", "--amend", "--allow-empty", "-m", "client")
    done = precommit_push(repo, hook_source, "origin", "aaa-docs", "zzz-client")
    assert done.returncode == 0, done.stdout + done.stderr
    assert server.ref("zzz-client") == git(repo, "rev-parse", "zzz-client").strip()
