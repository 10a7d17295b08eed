"""The ready-to-paste CI files in docs/examples: they parse, the docs show them verbatim, and
the commands they run work in a temporary repository with the CI system's variables set."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import REPO_ROOT, SARIF_SCHEMA, ci_env, git, git_env, new_key, tool, validate_gitlab
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


def keysentry_commands(lines: list[str]) -> list[str]:
    commands = [line for line in lines if line.startswith("keysentry ")]
    assert commands, "the example runs no keysentry command"
    return commands


def run_shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A CI shell step, with this environment's keysentry first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", command], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, **env, "PATH": path, "NO_COLOR": "1"}, check=False,
    )


@pytest.fixture
def merge_request(git_repo: Path) -> dict[str, object]:
    """A feature branch that adds a key, and a build folder the CI job would have made."""
    (git_repo / "README.md").write_text("demo\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "init")
    base = git(git_repo, "rev-parse", "HEAD").strip()
    git(git_repo, "checkout", "-qb", "feature")
    (git_repo / "app.py").write_text(f'client = OpenAI(api_key="{new_key()}")  # deepseek\n')
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "add client")
    (git_repo / "dist").mkdir()
    (git_repo / "dist" / "index.js").write_text("console.log('clean bundle');\n")
    return {"repo": git_repo, "base": base, "head": git(git_repo, "rev-parse", "HEAD").strip()}


def test_the_github_workflow_runs_and_uploads_valid_sarif(merge_request, tmp_path):
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["keysentry"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the history `keysentry ci` needs
    assert workflow["permissions"]["security-events"] == "write"
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    repo = merge_request["repo"]
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {
        "number": 1, "base": {"sha": merge_request["base"]}, "head": {"sha": merge_request["head"]}
    }}))
    summary = tmp_path / "summary.md"
    env = ci_env(
        GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="pull_request", GITHUB_EVENT_PATH=str(event),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    lines = [line for step in steps for line in step.get("run", "").splitlines()]
    for command in keysentry_commands(lines):
        result = run_shell(command, repo, env)
        assert result.returncode == 1, result.stderr  # the pull request adds a key
        assert result.stdout.startswith("::error file=app.py,line=1,")
    sarif = json.loads((repo / upload["with"]["sarif_file"]).read_text())
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    assert [r["properties"]["location"] for r in sarif["runs"][0]["results"]] == ["app.py"]
    assert "keysentry: 1 DeepSeek API key finding(s)" in summary.read_text()


def test_the_gitlab_job_writes_the_reports_it_declares(merge_request):
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["keysentry"]
    assert job["variables"]["GIT_DEPTH"] == "0"
    repo = merge_request["repo"]
    env = ci_env(
        GITLAB_CI="true", CI_MERGE_REQUEST_DIFF_BASE_SHA=str(merge_request["base"]),
        CI_COMMIT_SHA=str(merge_request["head"]), CI_MERGE_REQUEST_IID="5",
    )
    for command in keysentry_commands(job["script"]):
        result = run_shell(command, repo, env)
        assert result.returncode == 1, result.stderr
    reports = job["artifacts"]["reports"]
    gitlab = validate_gitlab(json.loads((repo / reports["secret_detection"]).read_text()))
    assert gitlab["scan"]["type"] == "secret_detection"
    assert [v["location"]["file"] for v in gitlab["vulnerabilities"]] == ["app.py"]
    junit = ET.parse(repo / reports["junit"]).getroot()
    assert junit.get("failures") == "1"


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
    (git_repo / ".pre-commit-config.yaml").write_text(local)
    (git_repo / "settings.py").write_text(f'DEEPSEEK_API_KEY = "{new_key()}"\n')
    git(git_repo, "add", ".")
    env = git_env(PRE_COMMIT_HOME=str(hook_source.home), PRE_COMMIT_COLOR="never")
    # what pre-commit.ci runs on a pull request
    result = subprocess.run(
        [tool("pre-commit"), "run", "--all-files"], cwd=git_repo, env=env,
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "settings.py:1:" in result.stdout
