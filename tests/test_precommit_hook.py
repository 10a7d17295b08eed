"""The pre-commit hook end to end (issue 2 §5): the real pre-commit framework installs this
repository's hook from `.pre-commit-hooks.yaml` and runs it on real `git commit`s.

pre-commit builds one virtualenv for the hook (a pip install of this tree). It is built once
per test session and shared by the xdist workers through one PRE_COMMIT_HOME.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO_ROOT, git, git_env, new_key, tool
from keysentry.model.key import redact

SKIPPED = ("tests/", "bench/")  # not part of the installed hook


@dataclass(frozen=True)
class HookSource:
    repo: Path  # a git snapshot of this working tree
    rev: str
    home: Path  # PRE_COMMIT_HOME, holding the one hook environment


def _snapshot(dest: Path) -> str:
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


def _env(home: Path) -> dict[str, str]:
    return git_env(PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")


def _config(source: HookSource) -> str:
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
            rev = _snapshot(root / "hooks-repo")
            source = HookSource(root / "hooks-repo", rev, root / "home")
            warm = root / "warm-up"
            warm.mkdir()
            git(warm, "init", "-q", "-b", "main")
            (warm / ".pre-commit-config.yaml").write_text(_config(source))
            subprocess.run(
                [tool("pre-commit"), "install-hooks"],
                cwd=warm, env=_env(source.home), check=True, capture_output=True,
            )
            (root / "ready").write_text(rev)
        rev = (root / "ready").read_text()
    yield HookSource(root / "hooks-repo", rev, root / "home")


@pytest.fixture
def hooked_repo(git_repo: Path, hook_source: HookSource) -> Path:
    """A repository whose commits go through the keysentry pre-commit hook."""
    (git_repo / ".pre-commit-config.yaml").write_text(_config(hook_source))
    (git_repo / "README.md").write_text("demo\n")
    env = _env(hook_source.home)
    subprocess.run([tool("pre-commit"), "install"], cwd=git_repo, env=env, check=True,
                   capture_output=True)
    git(git_repo, "add", ".pre-commit-config.yaml", "README.md")
    result = commit(git_repo, hook_source, "initial")
    assert result.returncode == 0, result.stdout + result.stderr
    return git_repo


def commit(repo: Path, source: HookSource, message: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-m", message], cwd=repo, env=_env(source.home),
        capture_output=True, text=True, check=False,
    )


def test_commit_with_a_key_is_blocked_with_file_line_redacted_key_and_next_steps(
    hooked_repo: Path, hook_source: HookSource
) -> None:
    key = new_key()
    (hooked_repo / "app").mkdir()
    (hooked_repo / "app" / "client.py").write_text(
        "from openai import OpenAI\n\n"
        f'client = OpenAI(api_key="{key}", base_url="https://api.deepseek.com")\n'
    )
    git(hooked_repo, "add", "app/client.py")
    result = commit(hooked_repo, hook_source, "add client")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "keysentry" in output and "Failed" in output
    assert "app/client.py:3:" in output
    assert redact(key) in output
    assert "Revoke" in output or "revoke" in output
    assert "keysentry guide" in output
    assert key not in output
    assert key[3:] not in output
    # nothing was committed
    assert "add client" not in git(hooked_repo, "log", "--format=%s")


def test_the_same_commit_without_the_key_passes(hooked_repo: Path, hook_source: HookSource) -> None:
    key = new_key()
    target = hooked_repo / "settings.py"
    target.write_text(f'DEEPSEEK_API_KEY = "{key}"\n')
    git(hooked_repo, "add", "settings.py")
    blocked = commit(hooked_repo, hook_source, "settings")
    assert blocked.returncode != 0
    assert "settings.py:1:" in blocked.stdout + blocked.stderr

    target.write_text('import os\nDEEPSEEK_API_KEY = os.environ["DEEPSEEK_API_KEY"]\n')
    git(hooked_repo, "add", "settings.py")
    passed = commit(hooked_repo, hook_source, "settings")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout + passed.stderr
    assert git(hooked_repo, "log", "-1", "--format=%s").strip() == "settings"


def test_an_allow_comment_passes(hooked_repo: Path, hook_source: HookSource) -> None:
    allowed, next_line = new_key(), new_key()
    (hooked_repo / "docs.md").write_text(
        f"Example: `{allowed}` <!-- keysentry: allow -->\n"
        "<!-- pragma: allowlist nextline secret -->\n"
        f"Another: `{next_line}`\n"
    )
    git(hooked_repo, "add", "docs.md")
    result = commit(hooked_repo, hook_source, "docs")
    assert result.returncode == 0, result.stdout + result.stderr


def test_binary_and_placeholder_files(hooked_repo: Path, hook_source: HookSource) -> None:
    placeholder = "sk-" + "0" * 32
    (hooked_repo / "example.env").write_text(f"DEEPSEEK_API_KEY={placeholder}\n")
    git(hooked_repo, "add", "example.env")
    assert commit(hooked_repo, hook_source, "placeholder").returncode == 0

    key = new_key()
    (hooked_repo / "cache.db").write_bytes(b"SQLite format 3\x00\x01\x02" + key.encode() + b"\x00")
    git(hooked_repo, "add", "cache.db")
    blocked = commit(hooked_repo, hook_source, "db")
    assert blocked.returncode != 0
    assert "cache.db:1:" in blocked.stdout + blocked.stderr


def test_try_repo_blocks_a_key_and_passes_without_it(git_repo: Path, hook_source: HookSource):
    """`pre-commit try-repo <this repo> keysentry`, as a team trying the hook would run it."""
    key = new_key()
    (git_repo / "config.py").write_text(f'DEEPSEEK_API_KEY = "{key}"\n')
    (git_repo / "clean.py").write_text('import os\nKEY = os.environ["DEEPSEEK_API_KEY"]\n')
    git(git_repo, "add", "-A")

    def try_repo(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool("pre-commit"), "try-repo", str(hook_source.repo), "keysentry",
             "--ref", hook_source.rev, "--files", *files],
            cwd=git_repo, env=_env(hook_source.home), capture_output=True, text=True,
            check=False,
        )

    blocked = try_repo("config.py", "clean.py")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert "config.py:1:" in output and redact(key) in output and key not in output
    assert "clean.py" not in output.split("Failed", 1)[1]
    passed = try_repo("clean.py")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
