"""The pre-commit hook end to end (issue 2 §5): the real pre-commit framework installs this
repository's hook from `.pre-commit-hooks.yaml` and runs it on real `git commit`s.

pre-commit builds one virtualenv for the hook (a pip install of this tree). It is built once
per test session and shared by the xdist workers through one PRE_COMMIT_HOME.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, git, new_key, tool
from keysentry.model.key import redact
from precommit_support import HookSource, precommit_config, precommit_env


@pytest.fixture
def hooked_repo(git_repo: Path, hook_source: HookSource) -> Path:
    """A repository whose commits go through the keysentry pre-commit hook."""
    (git_repo / ".pre-commit-config.yaml").write_text(precommit_config(hook_source))
    (git_repo / "README.md").write_text("demo\n")
    env = precommit_env(hook_source.home)
    subprocess.run(
        [tool("pre-commit"), "install"], cwd=git_repo, env=env, check=True, capture_output=True
    )
    git(git_repo, "add", ".pre-commit-config.yaml", "README.md")
    result = commit(git_repo, hook_source, "initial")
    assert result.returncode == 0, result.stdout + result.stderr
    return git_repo


def commit(repo: Path, source: HookSource, message: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-m", message],
        cwd=repo,
        env=precommit_env(source.home),
        capture_output=True,
        text=True,
        check=False,
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
    """`pre-commit try-repo <this repo> keysentry`, as a team trying the hook would run it
    (once: try-repo builds a new hook environment at every call), then the same hook on the
    clean file alone."""
    key = new_key()
    (git_repo / "config.py").write_text(f'DEEPSEEK_API_KEY = "{key}"\n')
    (git_repo / "clean.py").write_text('import os\nKEY = os.environ["DEEPSEEK_API_KEY"]\n')
    git(git_repo, "add", "-A")

    def try_repo(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                tool("pre-commit"),
                "try-repo",
                str(hook_source.repo),
                "keysentry",
                "--ref",
                hook_source.rev,
                "--files",
                *files,
            ],
            cwd=git_repo,
            env=precommit_env(hook_source.home),
            capture_output=True,
            text=True,
            check=False,
        )

    blocked = try_repo("config.py", "clean.py")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert "config.py:1:" in output and redact(key) in output and key not in output
    assert "clean.py" not in output.split("Failed", 1)[1]
    passed = run_hook(git_repo, hook_source, "keysentry", "--files", "clean.py")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout


# --- the manifest's stages and hook ids (issue 16 §4) -----------------------------------

MANIFEST = REPO_ROOT / ".pre-commit-hooks.yaml"
FILE_STAGES = ["pre-commit", "pre-merge-commit", "pre-push", "manual"]


def hooks_by_id() -> dict[str, dict]:
    return {h["id"]: h for h in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))}


def test_the_manifest_is_valid_and_says_where_each_hook_runs():
    checked = subprocess.run(
        [tool("pre-commit"), "validate-manifest", str(MANIFEST)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    hooks = hooks_by_id()
    assert hooks["keysentry"]["stages"] == FILE_STAGES
    assert hooks["keysentry-commit-msg"]["stages"] == ["commit-msg"]
    for hook in hooks.values():
        assert hook["require_serial"] is True  # one process: one summary per run
        # the stage names above exist from pre-commit 3.2.0 on
        assert tuple(map(int, hook["minimum_pre_commit_version"].split("."))) >= (3, 2, 0)


def run_hook(
    repo: Path, source: HookSource, hook_id: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """`pre-commit run HOOK_ID ARGS` with this tree's hooks, as the git hook pre-commit
    installs for each stage runs it (``--hook-stage``), in the session's one hook
    environment (try-repo builds a new one at each call: one test runs it)."""
    config = precommit_config(source) + "      - id: keysentry-commit-msg\n"
    (repo / ".pre-commit-config.yaml").write_text(config)
    git(repo, "add", ".pre-commit-config.yaml")
    return subprocess.run(
        [tool("pre-commit"), "run", hook_id, *args],
        cwd=repo,
        env=precommit_env(source.home),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("stage", FILE_STAGES)
def test_each_file_stage_blocks_a_key(git_repo, hook_source, stage):
    (git_repo / "README.md").write_text("demo\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "init")
    key = new_key()
    (git_repo / "config.py").write_text(f'DEEPSEEK_API_KEY = "{key}"\n')
    git(git_repo, "add", "-A")
    if stage == "pre-push":  # what the push sends: the files the new commits change
        git(git_repo, "commit", "-qm", "config")
        files = ("--from-ref", "HEAD~1", "--to-ref", "HEAD")
    else:
        files = ("--all-files",)
    result = run_hook(git_repo, hook_source, "keysentry", *files, "--hook-stage", stage)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "config.py:1:" in output and key not in output and "README.md:" not in output
    said = {"pre-push": "this push: 1 API key(s) in the files it changes"}
    summary = said.get(stage, "this commit: 1 API key(s) staged")
    assert output.count(f"keysentry blocked {summary}") == 1


def test_the_file_hook_does_not_run_at_the_commit_msg_stage(git_repo, hook_source):
    (git_repo / "config.py").write_text(f'DEEPSEEK_API_KEY = "{new_key()}"\n')
    message = git_repo / "MSG"
    message.write_text("a clean message\n")
    git(git_repo, "add", "-A")
    result = run_hook(
        git_repo,
        hook_source,
        "keysentry",
        "--all-files",
        "--hook-stage",
        "commit-msg",
        "--commit-msg-filename",
        str(message),
    )
    output = result.stdout + result.stderr
    assert "No hook with id `keysentry` in stage `commit-msg`" in output
    assert "config.py" not in output


def test_the_commit_msg_hook_checks_the_message_file(git_repo, hook_source):
    key = new_key()
    (git_repo / "clean.py").write_text("x = 1\n")
    git(git_repo, "add", "-A")
    message = git_repo / "MSG"
    message.write_text(f"configure the client\n\nkey was {key}\n")
    args = ("--hook-stage", "commit-msg", "--commit-msg-filename", str(message), "--all-files")
    blocked = run_hook(git_repo, hook_source, "keysentry-commit-msg", *args)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert "its message holds 1 API key(s)" in output and redact(key) in output
    assert key not in output
    message.write_text("configure the client from the environment\n")
    passed = run_hook(git_repo, hook_source, "keysentry-commit-msg", *args)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_a_real_commit_with_a_key_in_its_message_is_refused(git_repo, hook_source):
    config = precommit_config(hook_source) + "      - id: keysentry-commit-msg\n"
    (git_repo / ".pre-commit-config.yaml").write_text(config)
    env = precommit_env(hook_source.home)
    subprocess.run(
        [tool("pre-commit"), "install", "--hook-type", "pre-commit", "--hook-type", "commit-msg"],
        cwd=git_repo,
        env=env,
        check=True,
        capture_output=True,
    )
    (git_repo / "README.md").write_text("demo\n")
    git(git_repo, "add", "-A")
    key = new_key()
    refused = commit(git_repo, hook_source, f"use {key} for now")
    assert refused.returncode != 0 and redact(key) in refused.stdout + refused.stderr
    assert git(git_repo, "rev-list", "--all") == ""  # no commit was made
    assert commit(git_repo, hook_source, "use the environment").returncode == 0


def test_one_summary_for_a_commit_of_many_files(hooked_repo, hook_source):
    """pre-commit splits files across processes unless the hook is require_serial."""
    for i in range(24):
        (hooked_repo / f"m{i}.py").write_text(f'DEEPSEEK_API_KEY = "{new_key()}"\n')
    git(hooked_repo, "add", "-A")
    result = commit(hooked_repo, hook_source, "many")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert output.count("keysentry blocked this commit: 24 API key(s) staged.") == 1, output
