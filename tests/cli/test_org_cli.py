"""``keysentry org`` as users run it: on a separately started scheduler and two workers,
every report format at once, the guide from its JSON, and resuming after Ctrl-C."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import (
    KEYSENTRY,
    REPO_ROOT,
    SARIF_SCHEMA,
    commit_file,
    git,
    new_key,
    run_keysentry,
    tool,
)
from keysentry.audits.org import report_file_name
from keysentry.model.key import fingerprint, redact
from keysentry.model.report import FAILED, UNCHANGED
from org_support import check_against_history, relocated, start_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    started = start_cluster(tmp_path_factory.mktemp("dask"))
    yield started
    started.stop()


def test_org_on_a_dask_scheduler_with_every_format(organisation, cluster, tmp_path):
    out = tmp_path / "reports"
    formats = ("sarif", "markdown", "text", "junit", "github", "gitlab")
    done = run_keysentry(
        "org",
        "--repos",
        str(organisation.repos_file),
        "--scheduler",
        cluster.address,
        "--format",
        "json",
        "-o",
        str(tmp_path / "org.json"),
        "--report",
        f"sarif-dir={out}/sarif",
        *(a for name in formats for a in ("--report", f"{name}={out}.{name}")),
    )
    assert done.returncode == 1, done.stderr  # keys found wins over the failed repositories
    assert f"{organisation.failing_url}: cannot reach the repository" in done.stderr
    report_json = json.loads((tmp_path / "org.json").read_text())
    check_against_history(organisation, report_json)
    workers = {r["worker"].rsplit(":", 1)[1] for r in report_json["repositories"]}
    assert workers <= {str(w.pid) for w in cluster.workers}  # the external workers ran them
    # one SARIF per repository, each valid and holding only its repository's keys
    schema = json.loads(SARIF_SCHEMA.read_text())
    for location, expected in organisation.expected.items():
        sarif = json.loads((out / "sarif" / report_file_name(location, "sarif")).read_text())
        jsonschema.validate(sarif, schema)
        fps = {r["partialFingerprints"]["keyFingerprint/v1"] for r in sarif["runs"][0]["results"]}
        assert fps == expected
    assert len(list((out / "sarif").iterdir())) == 50
    text = (out.with_suffix(".text")).read_text()
    keys = len(organisation.all_keys)
    holding = sum(1 for fps in organisation.expected.values() if fps)
    client = {n for k in report_json["keys"] for n in k["client_repositories"]}
    pushed = {n for k in report_json["keys"] for n in k["pushed_repositories"]}
    assert client and pushed == organisation.pushed
    assert text.splitlines()[0] == (
        f"keysentry org: {keys} keys in {holding} of 50 repositories,"
        f" client-side in {len(client)}, pushed in {len(pushed)}"
    )
    assert report_json["summary"] == text.splitlines()[0].removeprefix("keysentry org: ")
    markdown = out.with_suffix(".markdown").read_text()
    assert f"keysentry org: {keys} keys in" in markdown and "| repository |" in markdown
    junit = ET.parse(out.with_suffix(".junit"))
    assert len(junit.findall(".//testcase")) >= keys
    assert json.loads(out.with_suffix(".gitlab").read_text())
    for key in organisation.keys:
        for name in (*formats, "json"):
            written = tmp_path / "org.json" if name == "json" else out.with_suffix(f".{name}")
            assert key not in written.read_text()
    # the guide names every repository that holds each key
    guide = run_keysentry("guide", "--from", str(tmp_path / "org.json"), "--format", "json")
    assert guide.returncode == 1, guide.stderr
    for entry in json.loads(guide.stdout)["keys"]:
        holders = {n for n, fps in organisation.expected.items() if entry["fingerprint"] in fps}
        named = {r.split(" (", 1)[0] for r in entry["repositories"]}
        assert named == holders


def test_scheduler_from_the_environment_and_incomplete_exit(organisation, cluster):
    clean = next(n for n, fps in organisation.expected.items() if not fps and n.startswith("/"))
    done = run_keysentry(
        "org",
        clean,
        organisation.failing_url,
        "-q",
        "--format",
        "json",
        env={"DASK_SCHEDULER_ADDRESS": cluster.address},
    )
    assert done.returncode == 2, done.stderr  # a repository failed, no key found
    report_json = json.loads(done.stdout)
    assert [r["status"] for r in report_json["repositories"]] == ["audited", FAILED]
    assert report_json["repositories"][0]["worker"].rsplit(":", 1)[1] in {
        str(w.pid) for w in cluster.workers
    }


def test_progress_on_a_terminal_counts_repositories_and_keys(organisation, cluster):
    """stderr on a pseudo-terminal: the progress line, then the timing line."""
    holders = [n for n, fps in organisation.expected.items() if fps and n.startswith("/")][:3]
    keys = len(set().union(*(organisation.expected[n] for n in holders)))
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [*KEYSENTRY, "org", *holders, "--format", "json"],
        stdout=subprocess.PIPE, stderr=terminal, text=True,
        env={**os.environ, "NO_COLOR": "1", "DASK_SCHEDULER_ADDRESS": cluster.address},
    )  # fmt: skip
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process is gone
            break
        if not chunk:
            break
        shown += chunk
    proc.communicate(timeout=60)
    os.close(controller)
    text = shown.decode()
    assert f"keysentry: repositories 3/3  keys {keys}  failed 0" in text
    assert "keysentry: 3 repositories on 2 worker(s): cluster ready in" in text
    assert proc.returncode == 1


def test_usage_errors_are_clear():
    nothing = run_keysentry("org")
    assert nothing.returncode == 2 and "no repository to audit" in nothing.stderr
    scan = run_keysentry("scan", ".", "--report", "sarif-dir=out")
    assert scan.returncode == 2 and "unknown format 'sarif-dir'" in scan.stderr


def test_a_cluster_that_cannot_start_or_be_reached_is_a_clear_error(git_repo, tmp_path):
    """Real failures, nothing mocked: each names its problem, exits 2, and shows no traceback."""
    too_small = run_keysentry("org", "--memory-limit", "10MiB", str(git_repo), timeout=120)
    assert too_small.returncode == 2
    assert "--memory-limit 10MiB per worker is below what a worker needs" in too_small.stderr

    not_a_folder = tmp_path / "scratch-is-a-file"
    not_a_folder.write_text("")
    no_scratch = run_keysentry(
        "org", str(git_repo), env={"DASK_TEMPORARY_DIRECTORY": str(not_a_folder)}, timeout=120
    )
    assert no_scratch.returncode == 2
    assert "cannot start or reach the Dask cluster (a LocalCluster)" in no_scratch.stderr
    assert str(not_a_folder) in no_scratch.stderr

    with socket.socket() as probe:  # a port nothing listens on (bound, closed, so free)
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    # refused at once: the hang guard is below Dask's 30 s of connection retries
    nobody = run_keysentry(
        "org", "--scheduler", f"tcp://127.0.0.1:{free}", str(git_repo), timeout=25
    )
    assert nobody.returncode == 2
    assert f"no Dask scheduler answers at tcp://127.0.0.1:{free}" in nobody.stderr
    for done in (too_small, no_scratch, nobody):
        assert "Traceback" not in done.stderr


def test_hook_never_imports_dask(git_repo):
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'dask', 'distributed'})))\n"
        "from keysentry.cli import main\n"
        "main(['hook'])\n"
    )
    done = subprocess.run(
        [KEYSENTRY[0], "-c", probe], cwd=git_repo, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def _state_lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_resume_after_sigint_then_skip_unchanged(organisation, tmp_path):
    organisation = relocated(organisation, tmp_path / "own")  # it commits to a repository
    state = tmp_path / "org.state"
    args = [
        "org",
        "--repos",
        str(organisation.repos_file),
        "--workers",
        "1",
        "--state",
        str(state),
        "--format",
        "json",
        "-q",
    ]
    first = subprocess.Popen(
        [*KEYSENTRY, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    deadline = time.monotonic() + 120
    while len(_state_lines(state)) < 4 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGINT)
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == 130, stderr
    assert f"interrupted; finished repositories are in {state}" in stderr
    recorded = len(_state_lines(state)) - 1  # the first line is the header
    assert 3 <= recorded < 48
    assert oct(state.stat().st_mode & 0o777) == "0o600"

    second = run_keysentry(*args)
    assert second.returncode == 1, second.stderr
    report_json = json.loads(second.stdout)
    check_against_history(organisation, report_json)  # the resumed report is complete
    statuses = [r["status"] for r in report_json["repositories"]]
    assert statuses.count(UNCHANGED) == recorded
    assert statuses.count(FAILED) == 2

    changed = next(
        n
        for n in organisation.locations
        if n.startswith("/") and n not in (organisation.bare | {organisation.damaged})
    )
    commit_file(Path(changed), "CHANGELOG.md", "a release\n", "release")
    third = run_keysentry(*args)
    report_json = json.loads(third.stdout)
    audited = {r["name"] for r in report_json["repositories"] if r["status"] == "audited"}
    assert audited == {changed}  # only what changed since the state was written
    assert sum(r["status"] == UNCHANGED for r in report_json["repositories"]) == 47
    check_against_history(organisation, report_json)


DOCS = REPO_ROOT / "docs" / "org.md"
EXAMPLES = REPO_ROOT / "docs" / "examples"


def _help_options(*command: str) -> set[str]:
    done = subprocess.run(
        [*command, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    return set(re.findall(r"--[a-z][a-z-]+", done.stdout))


def test_the_docs_show_the_examples_verbatim_and_use_real_options():
    text = DOCS.read_text(encoding="utf-8")
    for example in ("org-worker.Dockerfile", "org-daskcluster.yaml"):
        assert (EXAMPLES / example).read_text(encoding="utf-8") in text
    cluster = yaml.safe_load((EXAMPLES / "org-daskcluster.yaml").read_text(encoding="utf-8"))
    assert cluster["kind"] == "DaskCluster"
    assert cluster["spec"]["worker"]["spec"]["containers"][0]["args"][0] == "worker"
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Organisation audits: `keysentry org`", 1)[1].split("\n## ", 1)[0]
    lines = [ln.strip() for ln in (text + section).splitlines()]
    commands = {
        ("keysentry", "org"): [*KEYSENTRY, "org"],
        ("keysentry", "guide"): [*KEYSENTRY, "guide"],
        ("dask", "ssh"): [tool("dask"), "ssh"],
        ("dask", "scheduler"): [tool("dask"), "scheduler"],
        ("dask", "worker"): [tool("dask"), "worker"],
    }
    checked = set()
    for line in lines:
        words = line.split()
        if words and words[0].startswith("DASK_SCHEDULER_ADDRESS="):
            words = words[1:]
        name = tuple(words[:2])
        if name in commands:
            used = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", line))
            assert used <= _help_options(*commands[name]), line
            checked.add(name)
    assert checked == set(commands)


def test_org_takes_exclude_jsonl_and_writes_sarif_github_ingests(cluster, tmp_path):
    keys = {name: new_key() for name in ("app", "vendored", "other")}
    first, second = tmp_path / "first", tmp_path / "second"
    for repo in (first, second):
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
    commit_file(first, "src/app.py", f'DEEPSEEK_API_KEY = "{keys["app"]}"\n')
    commit_file(first, "vendor/lib.py", f'DEEPSEEK_API_KEY = "{keys["vendored"]}"\n')
    commit_file(second, "src/other.py", f'DEEPSEEK_API_KEY = "{keys["other"]}"\n')
    missing = (tmp_path / "missing.git").as_uri()
    done = run_keysentry(
        "org", str(first), str(second), missing, "-q",
        "--exclude", "vendor/", "--format", "jsonl",
        "--report", f"sarif={tmp_path / 'org.sarif'}",
        "--report", f"sarif-dir={tmp_path / 'sarif'}",
        env={"DASK_SCHEDULER_ADDRESS": cluster.address},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    findings = [line for line in lines if line["type"] == "finding"]
    # --exclude holds in the working tree and in history, in every repository
    expected = {fingerprint(keys["app"]), fingerprint(keys["other"])}
    assert {f["fingerprint"] for f in findings} == expected
    assert {f["path"] for f in findings} == {"src/app.py", "src/other.py"}
    assert {f["repository"]["name"] for f in findings} == {str(first), str(second)}
    assert lines[-1]["type"] == "summary" and lines[-1]["stats"]["complete"] is False
    schema = json.loads(SARIF_SCHEMA.read_text())
    combined = json.loads((tmp_path / "org.sarif").read_text())
    jsonschema.validate(combined, schema)
    run = combined["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is False  # the missing repository
    for result in run["results"]:
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert physical["artifactLocation"]["uri"] in {"src/app.py", "src/other.py"}
        assert physical["region"]["endLine"] == physical["region"]["startLine"]
        assert result["properties"]["repository"]["name"] in {str(first), str(second)}
    # one file per repository for upload to that repository: paths relative to its root
    mine = json.loads((tmp_path / "sarif" / report_file_name(str(first), "sarif")).read_text())
    jsonschema.validate(mine, schema)
    assert mine["runs"][0]["invocations"][0]["executionSuccessful"] is True
    [uri] = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in mine["runs"][0]["results"]
    }
    assert uri == "src/app.py"
    failed = json.loads((tmp_path / "sarif" / report_file_name(missing, "sarif")).read_text())
    assert failed["runs"][0]["invocations"][0]["executionSuccessful"] is False
    assert all(key not in done.stdout + done.stderr for key in keys.values())
    verbose = run_keysentry(
        "org", str(first), "-q", "-v", env={"DASK_SCHEDULER_ADDRESS": cluster.address}
    )
    assert f"fingerprint: {fingerprint(keys['app'])}" in verbose.stdout, verbose.stderr


def test_a_repository_folder_named_with_a_key_is_never_shown_or_written(cluster, tmp_path):
    """A key in a repository's path (a backup folder named after it) appears in no report,
    no per-repository report's file name and not in the state file; resuming still
    matches the repository (by the digest of its location)."""
    named, inside = new_key(), new_key()
    repo = tmp_path / f"backup_{named}"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit_file(repo, "app.py", f'DEEPSEEK_API_KEY = "{inside}"\n')
    state, sarif_dir = tmp_path / "org.state", tmp_path / "sarif"
    env = {"DASK_SCHEDULER_ADDRESS": cluster.address}
    outputs = []
    for fmt in ("json", "text", "markdown", "sarif", "gitlab"):
        done = run_keysentry(
            "org", str(repo), "-q", "--format", fmt, "--state", str(state),
            "--report", f"sarif-dir={sarif_dir}", env=env,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        outputs.append(done.stdout + done.stderr)
    first = json.loads(outputs[0])
    assert {f["fingerprint"] for f in first["findings"]} == {fingerprint(inside)}
    assert first["findings"][0]["repository"]["name"].endswith(f"backup_{redact(named)}")
    # the runs after the first took the repository from the state file: matched, unchanged
    again = json.loads(
        run_keysentry("org", str(repo), "-q", "-f", "json", "--state", str(state), env=env).stdout
    )
    assert [r["status"] for r in again["repositories"]] == [UNCHANGED]
    written = [state.read_text(), *(p.name + p.read_text() for p in sarif_dir.iterdir())]
    for text in [*outputs, *written]:
        assert named not in text and inside not in text
