"""The ready-to-paste CI files in docs/examples: they parse, the docs show them verbatim, and
the pre-commit configuration blocks a key (the GitHub workflow, the action and the GitLab
job are run in test_action.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, git, git_env, new_key, tool
from precommit_support import HookSource

EXAMPLES = REPO_ROOT / "docs" / "examples"
GITHUB = EXAMPLES / "github-workflow.yml"
GITLAB = EXAMPLES / "gitlab-ci.yml"
PRE_COMMIT = EXAMPLES / "pre-commit-config.yaml"


def fenced_yaml(markdown: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", markdown.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("example", [GITHUB, GITLAB, PRE_COMMIT], ids=lambda p: p.name)
def test_examples_parse_and_the_docs_show_them_verbatim(example):
    assert isinstance(yaml.safe_load(example.read_text(encoding="utf-8")), dict)
    assert example.read_text(encoding="utf-8") in fenced_yaml(REPO_ROOT / "docs" / "ci.md")


def test_the_readme_shows_the_github_workflow_verbatim():
    assert GITHUB.read_text(encoding="utf-8") in fenced_yaml(REPO_ROOT / "README.md")


def test_the_pre_commit_config_is_valid_and_blocks_a_key(
    git_repo: Path, hook_source: HookSource
):
    checked = subprocess.run(
        [tool("pre-commit"), "validate-config", str(PRE_COMMIT)],
        capture_output=True, text=True, check=False,
    )
    assert checked.returncode == 0 and "Unexpected" not in checked.stdout + checked.stderr
    config = yaml.safe_load(PRE_COMMIT.read_text(encoding="utf-8"))
    hook_ids = {h["id"] for h in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert {h["id"] for r in config["repos"] for h in r["hooks"]} <= hook_ids
    # the docs' file, pointed at this tree instead of the published repository
    local = PRE_COMMIT.read_text(encoding="utf-8")
    local = re.sub(r"repo: \S+", f"repo: {hook_source.repo}", local)
    local = re.sub(r"rev: \S+", f"rev: {hook_source.rev}", local)
    assert_blocks_a_key(git_repo, hook_source, local)  # as pre-commit.ci runs it on a PR


def assert_blocks_a_key(git_repo: Path, hook_source: HookSource, config: str) -> None:
    """`pre-commit run --all-files` with this configuration blocks a staged key."""
    (git_repo / ".pre-commit-config.yaml").write_text(config)
    (git_repo / "settings.py").write_text(f'DEEPSEEK_API_KEY = "{new_key()}"\n')
    git(git_repo, "add", ".")
    env = git_env(PRE_COMMIT_HOME=str(hook_source.home), PRE_COMMIT_COLOR="never")
    result = subprocess.run(
        [tool("pre-commit"), "run", "--all-files"], cwd=git_repo, env=env,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "settings.py:1:" in result.stdout


def test_the_from_a_clone_recipe_blocks_a_key(git_repo: Path, hook_source: HookSource):
    """docs/ci.md's configuration for a clone of keysentry, with a clone's path and commit."""
    [block] = [b for b in fenced_yaml(REPO_ROOT / "docs" / "ci.md") if "/path/to/keysentry" in b]
    config = block.replace("/path/to/keysentry", str(hook_source.repo))
    config = config.replace("rev: COMMIT", f"rev: {hook_source.rev}")
    assert hook_source.rev in config
    assert_blocks_a_key(git_repo, hook_source, config)
