"""The pre-commit hook end to end (issue 2 §5): the real pre-commit framework installs this
repository's hook from `.pre-commit-hooks.yaml` and runs it on real `git commit`s.

pre-commit builds one virtualenv for the hook (a pip install of this tree). It is built once
per test session and shared by the xdist workers through one PRE_COMMIT_HOME.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import git, new_key, tool
from keysentry.model.key import redact
from precommit_support import HookSource, precommit_config, precommit_env


@pytest.fixture
def hooked_repo(git_repo: Path, hook_source: HookSource) -> Path:
    """A repository whose commits go through the keysentry pre-commit hook."""
    (git_repo / ".pre-commit-config.yaml").write_text(precommit_config(hook_source))
    (git_repo / "README.md").write_text("demo\n")
    env = precommit_env(hook_source.home)
    subprocess.run([tool("pre-commit"), "install"], cwd=git_repo, env=env, check=True,
                   capture_output=True)
    git(git_repo, "add", ".pre-commit-config.yaml", "README.md")
    result = commit(git_repo, hook_source, "initial")
    assert result.returncode == 0, result.stdout + result.stderr
    return git_repo


def commit(repo: Path, source: HookSource, message: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-m", message], cwd=repo, env=precommit_env(source.home),
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
            cwd=git_repo, env=precommit_env(hook_source.home), capture_output=True, text=True,
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
