"""The composite GitHub Action (action.yml) and the CI recipes, checked with real tools
(issue 16 §3, §5): SchemaStore's schemas through check-jsonschema, and the action's own
shell steps run as the runner runs them (bash -e, the runner's environment files), in a
temporary repository, with the inputs the documented workflow gives."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, ci_env, git, new_key, tool, validate_gitlab, validate_sarif
from precommit_support import snapshot_tree

ACTION = REPO_ROOT / "action.yml"
EXAMPLES = REPO_ROOT / "docs" / "examples"
WORKFLOW = EXAMPLES / "github-workflow.yml"
GITLAB = EXAMPLES / "gitlab-ci.yml"
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ("vendor.github-actions", ACTION),
        ("vendor.github-workflows", WORKFLOW),
        ("vendor.gitlab-ci", GITLAB),
    ],
    ids=["action", "workflow", "gitlab-ci"],
)
def test_schemastore_validates_the_action_and_the_ci_files(schema, path):
    checked = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_an_invalid_action_is_caught_by_the_validator(tmp_path):
    """The validator is not a rubber stamp: a composite step without a shell is refused."""
    action = yaml.safe_load(ACTION.read_text())
    del action["runs"]["steps"][0]["shell"]
    broken = tmp_path / "action.yml"
    broken.write_text(yaml.safe_dump(action))
    checked = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 1


def test_the_recipes_install_from_the_repository_and_upload_with_the_current_action():
    """(test_docs_snippets checks that the ref they pin is a commit this repository holds)"""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    readme = (REPO_ROOT / "README.md").read_text()
    assert "pip install keysentry" not in readme + (REPO_ROOT / "docs" / "ci.md").read_text()
    action = yaml.safe_load(ACTION.read_text())
    (upload,) = [s for s in action["runs"]["steps"] if "upload-sarif" in s.get("uses", "")]
    assert upload["uses"] == "github/codeql-action/upload-sarif@v4"
    assert workflow["permissions"] == {
        "contents": "read",
        "security-events": "write",
        "actions": "read",
    }


class Runner:
    """The runner's side of a composite action: inputs with their defaults, expressions,
    bash -e, and the files GITHUB_OUTPUT, GITHUB_PATH and GITHUB_STEP_SUMMARY."""

    def __init__(self, action_path: Path, workspace: Path, temp: Path, env: dict[str, str]):
        self.action = yaml.safe_load(ACTION.read_text())
        self.action_path, self.workspace, self.temp = action_path, workspace, temp
        self.env = env

    def run(self, given: dict[str, str]) -> tuple[int, dict[str, str], list[str]]:
        """Every shell step in order; (the last step's exit code, outputs, what ran)."""
        inputs = {k: str(v.get("default", "")) for k, v in self.action["inputs"].items()}
        assert set(given) <= set(inputs), set(given) - set(inputs)
        inputs.update(given)
        outputs: dict[str, dict[str, str]] = {}
        code, ran = 0, []
        for step in self.action["runs"]["steps"]:
            if "run" not in step:
                ran.append(step["uses"])
                continue
            output_file = self.temp / f"output-{len(ran)}"
            output_file.write_text("")
            env = {k: self._evaluate(v, inputs, outputs) for k, v in step.get("env", {}).items()}
            assert "${{" not in step["run"]  # scripts read env only
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=self.workspace,
                capture_output=True,
                text=True,
                check=False,
                env={**self.env, **env, "GITHUB_OUTPUT": str(output_file)},
            )
            ran.append(step["name"])
            self.last = done
            if "id" in step:
                outputs[step["id"]] = dict(
                    line.split("=", 1) for line in output_file.read_text().splitlines()
                )
            code = done.returncode
            if code != 0 and step is not self.action["runs"]["steps"][-1]:
                raise AssertionError(f"{step['name']} failed: {done.stdout}{done.stderr}")
        return code, outputs.get("run", {}), ran

    def _evaluate(self, value: str, inputs: dict[str, str], outputs: dict) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("inputs."):
                return inputs[name.removeprefix("inputs.")]
            if name == "github.action_path":
                return str(self.action_path)
            step, _, key = name.removeprefix("steps.").partition(".outputs.")
            return outputs.get(step, {}).get(key, "")

        return EXPRESSION.sub(one, str(value))


def test_the_action_installs_runs_and_reports_as_the_documented_workflow_uses_it(
    tmp_path, git_repo
):
    # the pull request: a clean base, then a commit adding a key; a build folder with another
    (git_repo / "README.md").write_text("demo\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "init")
    base = git(git_repo, "rev-parse", "HEAD").strip()
    key, bundled = new_key(), new_key()
    (git_repo / "app.py").write_text(f'client = OpenAI(api_key="{key}")  # deepseek\n')
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "add client")
    (git_repo / "dist").mkdir()
    (git_repo / "dist" / "index.js").write_text(
        f'fetch("https://api.deepseek.com",{{k:"{bundled}"}})\n'
    )
    head = git(git_repo, "rev-parse", "HEAD").strip()
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"pull_request": {"number": 1, "base": {"sha": base}, "head": {"sha": head}}})
    )
    action_path = tmp_path / "action"  # the runner's checkout of keysentry/keysentry@<ref>
    action_path.mkdir()
    snapshot_tree(action_path)
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    summary, path_file = tmp_path / "summary.md", tmp_path / "path"
    env = {
        **os.environ,
        **ci_env(
            GITHUB_ACTIONS="true",
            GITHUB_EVENT_NAME="pull_request",
            GITHUB_EVENT_PATH=str(event),
            GITHUB_STEP_SUMMARY=str(summary),
        ),
        "GITHUB_PATH": str(path_file),
        "RUNNER_TEMP": str(temp),
        "GITHUB_WORKSPACE": str(git_repo),
        "GITHUB_ACTION_PATH": str(action_path),
        "PATH": os.environ["PATH"].replace(f"{Path(sys.executable).parent}{os.pathsep}", ""),
        "NO_COLOR": "1",
    }
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (step,) = [
        s
        for s in workflow["jobs"]["keysentry"]["steps"]
        if s.get("uses", "").startswith("keysentry/keysentry@")
    ]
    runner = Runner(action_path, git_repo, temp, env)

    code, outputs, ran = runner.run(step.get("with", {}))
    assert code == 1, runner.last.stdout + runner.last.stderr  # the pull request adds keys
    assert ran[2] == "github/codeql-action/upload-sarif@v4"
    assert outputs == {"exit-code": "1", "sarif-file": "keysentry.sarif"}
    venv_bin = temp / "keysentry-venv" / "bin"
    assert path_file.read_text().splitlines() == [str(venv_bin)]
    run = validate_sarif(json.loads((git_repo / "keysentry.sarif").read_text()))["runs"][0]
    uris = sorted(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    )
    assert uris == ["app.py", "dist/index.js"]
    assert "keysentry: 2 DeepSeek API key finding(s)" in summary.read_text()
    assert key not in summary.read_text() and bundled not in summary.read_text()

    # a second use in the same job: `scan` with other reports, the install reused
    stamp = (venv_bin / "keysentry").stat().st_mtime_ns
    code, outputs, _ = runner.run(
        {"command": "scan", "dist": "dist", "formats": "gitlab=gl.json", "fail-on": "never"}
    )
    assert code == 0 and outputs == {"exit-code": "0"}
    assert (venv_bin / "keysentry").stat().st_mtime_ns == stamp
    gitlab = validate_gitlab(json.loads((git_repo / "gl.json").read_text()))
    assert [v["location"]["file"] for v in gitlab["vulnerabilities"]] == ["dist/index.js"]
    assert summary.read_text().count("## ") >= 2  # appended, not overwritten

    code, outputs, _ = runner.run({"command": "history"})
    assert code == 2 and outputs == {"exit-code": "2"}


def test_the_gitlab_job_installs_the_ref_it_names_and_writes_valid_reports(tmp_path, git_repo):
    job = yaml.safe_load(GITLAB.read_text())["keysentry"]
    # the repository as the job's URL would serve it: this tree, as a commit KEYSENTRY_REF
    # names (test_docs_snippets checks that the docs' own ref is a commit this repository has)
    served = tmp_path / "keysentry.git"
    served.mkdir()
    variables = {**job["variables"], "KEYSENTRY_REF": snapshot_tree(served)}
    venv = tmp_path / "image-python"  # the job image's Python
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True)
    (git_repo / "README.md").write_text("demo\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "init")
    base = git(git_repo, "rev-parse", "HEAD").strip()
    (git_repo / "app.py").write_text(f'client = OpenAI(api_key="{new_key()}")  # deepseek\n')
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "add client")
    (git_repo / "dist").mkdir()
    (git_repo / "dist" / "index.js").write_text("console.log('clean');\n")
    env = {
        **os.environ,
        **ci_env(
            GITLAB_CI="true",
            CI_MERGE_REQUEST_DIFF_BASE_SHA=base,
            CI_MERGE_REQUEST_IID="5",
            CI_COMMIT_SHA=git(git_repo, "rev-parse", "HEAD").strip(),
        ),
        **{k: str(v) for k, v in variables.items()},
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "NO_COLOR": "1",
    }
    for line in job["before_script"]:
        assert "https://github.com/keysentry/keysentry@" in line
        local = line.replace("https://github.com/keysentry/keysentry", f"file://localhost{served}")
        done = subprocess.run(
            ["bash", "-c", local],
            cwd=git_repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert shutil.which("keysentry", path=str(venv / "bin"))
    for line in job["script"]:
        done = subprocess.run(
            ["bash", "-c", line], cwd=git_repo, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 1, done.stderr
    reports = job["artifacts"]["reports"]
    gitlab = validate_gitlab(json.loads((git_repo / reports["secret_detection"]).read_text()))
    assert gitlab["scan"]["status"] == "success"
    assert [v["location"]["file"] for v in gitlab["vulnerabilities"]] == ["app.py"]
