"""``keysentry ci``: the range from GitHub Actions / GitLab CI, only new commits audited,
build output scanned, reports written, shallow checkouts explained."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import ci_env, commit_file, git, git_env, new_key, run_keysentry, validate_gitlab
from keysentry.audits import ci_range as ci


def head(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "rev-parse", rev).strip()


@pytest.fixture
def pull_request(git_repo: Path) -> dict[str, str]:
    """main has an old key; the feature branch adds a new one."""
    old, new = new_key(), new_key()
    base = commit_file(git_repo, "legacy.py", f'DEEPSEEK_KEY = "{old}"\n', "legacy")
    git(git_repo, "checkout", "-qb", "feature")
    commit_file(git_repo, "docs.md", "no keys here\n")
    tip = commit_file(git_repo, "src/client.py", f'# deepseek\nKEY = "{new}"\n', "add client")
    return {"repo": str(git_repo), "old": old, "new": new, "base": base, "head": tip}


def github_event(tmp_path: Path, event: dict) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return str(path)


def test_github_pull_request_audits_only_the_new_commits(pull_request, tmp_path):
    repo = Path(pull_request["repo"])
    summary = tmp_path / "summary.md"
    event = {"pull_request": {"number": 7, "base": {"sha": pull_request["base"]},
                              "head": {"sha": pull_request["head"]}}}
    env = ci_env(
        GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=github_event(tmp_path, event), GITHUB_STEP_SUMMARY=str(summary),
    )
    result = run_keysentry("ci", "--report", "sarif=ci.sarif", cwd=repo, env=env)
    assert result.returncode == 1, result.stderr
    shown = f"{pull_request['base']}..{pull_request['head']} (GitHub pull_request #7)"
    assert shown in result.stderr
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 1  # GitHub's format by default in Actions
    assert annotations[0].startswith("::error file=src/client.py,line=2,")
    assert pull_request["new"][:7] in annotations[0]
    assert pull_request["old"][:7] not in result.stdout  # on main already: not this PR's
    sarif = json.loads((repo / "ci.sarif").read_text())
    (finding,) = sarif["runs"][0]["results"]
    assert finding["properties"]["commit"] == pull_request["head"]
    assert summary.read_text().startswith("## 🔑 keysentry: 1 DeepSeek API key finding(s)")


def test_github_push_audits_before_to_after(pull_request, tmp_path):
    repo = Path(pull_request["repo"])
    before = head(repo, "HEAD~1")
    clean = commit_file(repo, "notes.txt", "nothing\n")
    event = {"before": pull_request["head"], "after": clean, "repository": {}}
    env = ci_env(
        GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="push",
        GITHUB_EVENT_PATH=github_event(tmp_path, event),
    )
    assert run_keysentry("ci", "--format", "json", cwd=repo, env=env).returncode == 0
    event["before"] = before  # now the push includes the commit with the key
    env["GITHUB_EVENT_PATH"] = github_event(tmp_path, event)
    result = run_keysentry("ci", "--format", "json", cwd=repo, env=env)
    assert result.returncode == 1
    paths = [f["path"] for f in json.loads(result.stdout)["findings"]]
    assert paths == ["src/client.py"]


def test_a_new_branch_push_is_compared_with_the_default_branch(pull_request, tmp_path):
    repo = Path(pull_request["repo"])
    git(repo, "update-ref", "refs/remotes/origin/main", "main")
    event = {"before": "0" * 40, "after": pull_request["head"],
             "repository": {"default_branch": "main"}}
    env = ci_env(
        GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="push",
        GITHUB_EVENT_PATH=github_event(tmp_path, event),
    )
    result = run_keysentry("ci", "--format", "json", cwd=repo, env=env)
    assert result.returncode == 1
    assert "(GitHub push of a new branch)" in result.stderr
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["src/client.py"]


def test_gitlab_merge_request_writes_the_secret_detection_report(pull_request):
    repo = Path(pull_request["repo"])
    env = ci_env(
        GITLAB_CI="true", CI_MERGE_REQUEST_DIFF_BASE_SHA=pull_request["base"],
        CI_MERGE_REQUEST_IID="12", CI_COMMIT_SHA=pull_request["head"],
    )
    result = run_keysentry(
        "ci", "--report", "gitlab=gl-secret-detection-report.json", "--report", "junit=j.xml",
        cwd=repo, env=env,
    )
    assert result.returncode == 1
    assert "(GitLab merge request !12)" in result.stderr
    report = validate_gitlab(json.loads((repo / "gl-secret-detection-report.json").read_text()))
    (vuln,) = report["vulnerabilities"]
    assert vuln["location"]["file"] == "src/client.py"
    assert vuln["location"]["commit"]["sha"] == pull_request["head"]
    assert (repo / "j.xml").read_text().count("<failure") == 1


def test_gitlab_push_uses_the_before_sha(pull_request):
    repo = Path(pull_request["repo"])
    env = ci_env(
        GITLAB_CI="true", CI_COMMIT_BEFORE_SHA=head(repo, "HEAD~1"),
        CI_COMMIT_SHA=pull_request["head"],
    )
    result = run_keysentry("ci", "--format", "json", cwd=repo, env=env)
    assert result.returncode == 1 and "(GitLab push)" in result.stderr
    env["CI_COMMIT_BEFORE_SHA"] = pull_request["head"]
    assert run_keysentry("ci", cwd=repo, env=env).returncode == 0  # nothing new


def test_range_and_dist_scan_the_build_output_too(pull_request):
    repo = Path(pull_request["repo"])
    (repo / "dist").mkdir()
    (repo / "dist" / "app.js").write_text(f'const key="{pull_request["old"]}";\n')
    result = run_keysentry(
        "ci", "--range", f"{pull_request['head']}..HEAD", "--dist", "dist", "--format", "json",
        cwd=repo, env=ci_env(),
    )
    assert result.returncode == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["path"] == "dist/app.js"  # as the repository names it
    assert finding["exposure"] == "client" and finding["severity"] == "critical"
    (repo / "dist" / "app.js").write_text("const key = process.env.KEY;\n")
    clean = run_keysentry(
        "ci", "--range", "HEAD~1..HEAD", "--dist", "dist", cwd=repo, env=ci_env()
    )
    assert clean.returncode == 1  # HEAD~1..HEAD is the commit that added the key
    quiet = run_keysentry(
        "ci", "--range", f"{pull_request['head']}..HEAD", "--dist", "dist", cwd=repo, env=ci_env()
    )
    assert quiet.returncode == 0, quiet.stdout


def test_ci_dist_and_reports_from_the_configuration(pull_request):
    repo = Path(pull_request["repo"])
    (repo / "build").mkdir()
    (repo / "build" / "main.js").write_text(f'k="{new_key()}"\n')
    (repo / ".keysentry.toml").write_text(
        'ci_dist = ["build"]\nreports = { sarif = "out/keysentry.sarif" }\n'
    )
    (repo / "out").mkdir()
    result = run_keysentry("ci", "--range", "HEAD", cwd=repo, env=ci_env())
    assert result.returncode == 1
    results = json.loads((repo / "out" / "keysentry.sarif").read_text())["runs"][0]["results"]
    assert "build/main.js" in {r["properties"]["location"] for r in results}


def test_a_baseline_lets_triaged_keys_through_in_ci(pull_request):
    repo = Path(pull_request["repo"])
    assert run_keysentry("baseline", "create", cwd=repo, env=ci_env()).returncode == 0
    result = run_keysentry("ci", "--range", f"{pull_request['base']}..HEAD", "--baseline",
                           ".keysentry-baseline.json", cwd=repo, env=ci_env())
    assert result.returncode == 0, result.stdout
    assert "1 finding(s) of keys accepted" in result.stderr
    assert "stale" not in result.stderr  # a range cannot tell what is gone


def test_outside_ci_without_a_range_is_a_usage_error(git_repo):
    commit_file(git_repo, "a.txt", "x\n")
    result = run_keysentry("ci", cwd=git_repo, env=ci_env())
    assert result.returncode == 2
    assert "--range BASE..HEAD" in result.stderr


def test_an_unknown_base_is_named(pull_request):
    repo = Path(pull_request["repo"])
    result = run_keysentry("ci", "--range", "nosuchref..HEAD", cwd=repo, env=ci_env())
    assert result.returncode == 2
    assert "nosuchref: no such commit" in result.stderr


def test_a_shallow_checkout_gets_told_how_to_fetch_history(pull_request, tmp_path):
    origin = Path(pull_request["repo"])
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--branch", "feature", origin.as_uri(), str(clone)],
        check=True, env=git_env(),
    )
    event = {"pull_request": {"number": 3, "base": {"sha": pull_request["base"]},
                              "head": {"sha": pull_request["head"]}}}
    env = ci_env(
        GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=github_event(tmp_path, event),
    )
    result = run_keysentry("ci", cwd=clone, env=env)
    assert result.returncode == 2
    assert "shallow" in result.stderr
    assert "fetch-depth: 0" in result.stderr and "git fetch --deepen" in result.stderr
    assert 'GIT_DEPTH: "0"' in result.stderr
    whole = run_keysentry("ci", "--range", "HEAD", cwd=clone, env=ci_env())
    assert whole.returncode == 2 and "history stops at" in whole.stderr
    subprocess.run(["git", "-C", str(clone), "fetch", "-q", "--unshallow"], check=True,
                   env=git_env())
    assert run_keysentry("ci", cwd=clone, env=env).returncode == 1  # the advice works


# --- the range from the environment (pure) -----------------------------------------------


def test_detect_reads_each_ci_system(tmp_path):
    group = {"merge_group": {"base_sha": "b" * 40, "head_sha": "c" * 40}}
    merge_queue = ci.detect(ci_env(
        GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="merge_group",
        GITHUB_EVENT_PATH=github_event(tmp_path, group),
    ))
    assert merge_queue.rev_range == f"{'b' * 40}..{'c' * 40}"
    scheduled = ci.detect(ci_env(GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="schedule",
                                 GITHUB_SHA="d" * 40))
    assert (scheduled.base, scheduled.rev_range) == (None, "d" * 40)
    no_event = ci.detect(ci_env(GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="pull_request",
                                GITHUB_BASE_REF="main", GITHUB_SHA="e" * 40))
    assert no_event.rev_range == f"origin/main..{'e' * 40}"
    new_branch = ci.detect(ci_env(GITLAB_CI="true", CI_COMMIT_BEFORE_SHA="0" * 40,
                                  CI_COMMIT_SHA="f" * 40, CI_DEFAULT_BRANCH="main",
                                  CI_COMMIT_BRANCH="topic"))
    assert new_branch.rev_range == f"origin/main..{'f' * 40}" and new_branch.base_optional
    default = ci.detect(ci_env(GITLAB_CI="true", CI_COMMIT_BEFORE_SHA="0" * 40,
                               CI_COMMIT_SHA="f" * 40, CI_DEFAULT_BRANCH="main",
                               CI_COMMIT_BRANCH="main"))
    assert default.base is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a..b", ("a", "b")), ("v1.0", (None, "v1.0")), ("a..", ("a", "HEAD")),
        ("..b", ("HEAD", "b")),
    ],
)
def test_parse_range(text, expected):
    parsed = ci.parse_range(text)
    assert (parsed.base, parsed.head) == expected


@pytest.mark.parametrize("text", ["a...b", "..", ""])
def test_parse_range_rejects_what_it_cannot_mean(text):
    with pytest.raises(ci.RangeError):
        ci.parse_range(text)
