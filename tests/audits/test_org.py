"""``keysentry org`` on real Dask (a LocalCluster, then a scheduler and two workers) over
50 real repositories, checked against what ``keysentry history`` says of each one alone."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess

import pytest

from conftest import commit_file, git, new_key
from keysentry.audits import org
from keysentry.audits.org_cluster import ClusterSettings
from keysentry.audits.org_task import (
    RepoSpec,
    TaskOptions,
    audit_repositories_task,
    audit_repository_task,
)
from keysentry.formats import FORMATS, RenderOptions
from keysentry.guide.leaked_keys import ReportFileError, load_report_file
from keysentry.model.finding import Finding, RepositoryRef
from keysentry.model.key import fingerprint
from keysentry.model.report import AUDITED, FAILED
from org_support import check_against_history, start_cluster


@pytest.fixture(scope="module")
def local_run(organisation):
    """One audit of the 50 repositories on a LocalCluster of two workers."""
    specs = org.read_repos_file(organisation.repos_file)
    report = org.audit_organisation(specs, TaskOptions(), ClusterSettings(workers=2))
    return json.loads(FORMATS["json"](report, RenderOptions(command="org"))), report


def test_org_report_is_the_union_of_each_repositorys_history(organisation, local_run):
    report_json, report = local_run
    check_against_history(organisation, report_json)
    outcomes = {r["name"]: r for r in report_json["repositories"]}
    assert len(outcomes) == 50
    failed = {name for name, r in outcomes.items() if r["status"] == FAILED}
    assert failed == {organisation.damaged, organisation.failing_url}
    assert "missing from the object store" in outcomes[organisation.damaged]["errors"][0]["message"]
    assert "cannot reach" in outcomes[organisation.failing_url]["errors"][0]["message"]
    assert outcomes[organisation.clone_url]["status"] == AUDITED
    # the damaged repository's key is still reported: bad input loses nothing
    assert outcomes[organisation.damaged]["keys"] == 1
    assert report.exit_code() == 1 and not report.complete


def test_a_key_in_many_repositories_is_one_entry_naming_each(organisation, local_run):
    report_json, _ = local_run
    shared = fingerprint(organisation.keys[1])
    entry = next(k for k in report_json["keys"] if k["fingerprint"] == shared)
    holders = {n for n, fps in organisation.expected.items() if shared in fps}
    assert {r["name"] for r in entry["repositories"]} == holders
    pushed = {n for n in holders if n in organisation.pushed}
    assert set(entry["pushed_repositories"]) == pushed and pushed
    assert entry["summary"] == f"in {len(holders)} repositories, client-side in" + (
        f" {len(entry['client_repositories'])}, pushed in {len(pushed)}"
    )
    # the remote URL travels with each finding
    remotes = {r["name"]: r["remote"] for r in entry["repositories"]}
    some_local = next(n for n in holders if n.startswith("/") and n not in organisation.bare)
    assert remotes[some_local].startswith("git@example.com:org/")
    # pushed and client-side keys first
    ranks = [(not k["client"], not k["pushed"]) for k in report_json["keys"]]
    assert ranks == sorted(ranks)


def test_each_repository_uses_its_own_config_and_its_working_tree(organisation, local_run):
    report_json, _ = local_run
    everything = {f["fingerprint"] for f in report_json["findings"]}
    assert fingerprint(organisation.allowed_key) not in everything  # its own .keysentry.toml
    tree = [f for f in report_json["findings"] if f["source"] == "file"]
    assert {"notes.txt", "public/app.js"} <= {f["path"] for f in tree}  # relative to the repo
    assert fingerprint(organisation.untracked_key) in everything  # no commit holds it


def test_no_full_key_leaves_a_worker(organisation, local_run, tmp_path):
    report_json, report = local_run
    text = json.dumps(report_json)
    for key in organisation.keys:
        assert key not in text
    assert all(f.secret == "" for f in report.findings)
    spec = RepoSpec(organisation.locations[1])  # a key in HEAD
    held = pickle.dumps(audit_repository_task(spec, TaskOptions()))
    assert organisation.keys[1].encode() not in held
    shown = pickle.dumps(audit_repository_task(spec, TaskOptions(keep_secrets=True)))
    assert organisation.keys[1].encode() in shown  # only when --show-secrets/--verify ask


def test_timeout_per_repo_stops_the_audit_and_records_it(git_repo):
    key = new_key()
    commit_file(git_repo, "big.txt", os.urandom(4 * 1024 * 1024).hex() + f"\nk={key}\n", "big")
    spec = RepoSpec(str(git_repo))
    timed = audit_repository_task(spec, TaskOptions(timeout=0.05))
    assert [e.message for e in timed.errors] == [
        "timed out after 0.05 s (--timeout-per-repo); not audited"
    ]
    assert timed.seconds < 10
    # the child and its git processes are gone: nothing still reads the repository
    left = subprocess.run(["pgrep", "-f", f"git.*{git_repo}"], capture_output=True, text=True)
    assert left.stdout == ""
    whole = audit_repository_task(spec, TaskOptions())
    assert {f.fingerprint for f in whole.findings} == {fingerprint(key)}


def test_a_batch_gives_each_repository_its_own_timeout_and_result(tmp_path):
    """Three repositories in one task: the first hangs (its alternates file is a FIFO no
    one writes, so git blocks opening it); it times out alone and the other two, audited
    by a new child after it, keep their keys."""
    repos, keys = [], []
    for name in ("hangs", "one", "two"):
        repo = tmp_path / name
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        keys.append(new_key())
        commit_file(repo, "app.py", f'DEEPSEEK_API_KEY = "{keys[-1]}"\n', "key")
        repos.append(repo)
    os.mkfifo(repos[0] / ".git" / "objects" / "info" / "alternates")
    specs = [RepoSpec(str(r)) for r in repos]

    results = audit_repositories_task(specs, TaskOptions(timeout=5))

    assert [r.spec for r in results] == specs
    assert [e.message for e in results[0].errors] == [
        "timed out after 5 s (--timeout-per-repo); not audited"
    ]
    for result, key in zip(results[1:], keys[1:], strict=True):
        assert result.errors == [] and {f.fingerprint for f in result.findings} == {
            fingerprint(key)
        }
    assert len({r.worker for r in results}) == 1  # one task, one worker
    left = subprocess.run(["pgrep", "-f", f"git.*{repos[0]}"], capture_output=True, text=True)
    assert left.stdout == ""


def test_discover_finds_bare_and_non_bare_without_descending(tmp_path):
    root = tmp_path / "checkouts"
    (root / "a").mkdir(parents=True)
    git(root / "a", "init", "-q")
    (root / "a" / "vendor" / "inner").mkdir(parents=True)  # inside a work tree: not a target
    git(root / "a" / "vendor" / "inner", "init", "-q")
    (root / "group" / "b.git").mkdir(parents=True)
    git(root / "group" / "b.git", "init", "-q", "--bare")
    (root / "group" / "plain").mkdir()
    found = [s.location for s in org.discover(root)]
    assert found == [str(root / "a"), str(root / "group" / "b.git")]  # .git never listed
    listing = tmp_path / "repos.txt"
    listing.write_text("# ours\n\ncheckouts/a\nhttps://example.com/x.git  # mirror\n")
    assert [s.location for s in org.read_repos_file(listing)] == [
        str(root / "a"),
        "https://example.com/x.git",
    ]
    assert RepoSpec("git@example.com:org/x.git").is_url and not RepoSpec("/srv/x:y").is_url
    with pytest.raises(org.OrgInputError, match="needs a directory"):
        org.discover(listing)


def test_a_killed_worker_loses_and_duplicates_nothing(organisation, local_run, tmp_path):
    """A scheduler and two workers; one worker is killed after its first repository."""
    cluster = start_cluster(tmp_path)
    try:
        victim = cluster.workers[0]
        killed: dict[str, int] = {}
        seen: list[tuple[str, str]] = []  # (repository, worker) as results arrive

        def on_result(result):
            seen.append((result.spec.location, result.worker))
            if not killed and result.worker.endswith(f":{victim.pid}"):
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                killed["after"] = len(seen)

        specs = org.read_repos_file(organisation.repos_file)
        report = org.audit_organisation(
            specs, TaskOptions(), ClusterSettings(cluster.address), on_result=on_result
        )
    finally:
        cluster.stop()
    assert killed, "the victim worker ran no repository"
    names = [name for name, _ in seen]
    assert len(names) == len(set(names)) == 50  # every repository once
    # the rest of the victim's last task arrived with it; after that, only the survivor
    late = seen[killed["after"] :]
    while late and late[0][1].endswith(f":{victim.pid}"):
        late.pop(0)
    survivor = cluster.workers[1].pid
    assert late and all(worker.endswith(f":{survivor}") for _, worker in late)
    report_json = json.loads(FORMATS["json"](report, RenderOptions(command="org")))
    assert report_json["findings"] == local_run[0]["findings"]
    check_against_history(organisation, report_json)


def test_a_saved_org_report_reads_back_its_repositories(tmp_path):
    found = Finding(
        secret=new_key(), path="app.py", line=1, column=5, provider="deepseek",
        confidence="high", provider_evidence="", snippet="",
        repository=RepositoryRef("/srv/web", "git@example.com:org/web.git"),
    )  # fmt: skip
    saved = tmp_path / "org.json"
    saved.write_text(json.dumps({"command": "org", "findings": [found.to_dict()]}))
    (back,), _, command = load_report_file(saved)
    assert back.repository == found.repository and command == "org"
    plain = {k: v for k, v in found.to_dict().items() if k != "repository"}
    assert "repository" not in Finding.from_dict(plain).to_dict()  # other reports unchanged
    saved.write_text(json.dumps({"findings": [{**found.to_dict(), "repository": {"name": 7}}]}))
    with pytest.raises(ReportFileError, match="finding 0 is malformed"):
        load_report_file(saved)


@pytest.mark.parametrize("layout", ["toml", "pyproject", "folder", "unborn", "packed"])
def test_a_bare_repository_is_audited_with_its_own_configuration_from_head(tmp_path, layout):
    """Read from HEAD's tree in process (a small plain store), as git's ``HEAD:name`` says."""
    from keysentry.audits.org_task import _head_config_texts
    from keysentry.sources.git_store import head_files

    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    allowed = new_key()
    allow = f'allowed_fingerprints = ["{fingerprint(allowed)}"]\n'
    commit_file(work, "app/keys.py", f'DEEPSEEK_API_KEY = "{allowed}"\n', "key")
    if layout in ("toml", "packed"):
        commit_file(work, ".keysentry.toml", allow, "config")
    elif layout == "pyproject":
        commit_file(work, "pyproject.toml", "[tool.keysentry]\n" + allow, "config")
    elif layout == "folder":
        commit_file(work, ".keysentry.toml/inside.txt", allow, "not a config file")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--mirror", str(work), str(bare))
    if layout == "unborn":
        git(bare, "symbolic-ref", "HEAD", "refs/heads/nothing-yet")
    if layout == "packed":
        git(bare, "gc", "-q")
    names = (".keysentry.toml", "pyproject.toml")
    assert head_files(bare, names) == _head_config_texts(bare)
    result = audit_repository_task(RepoSpec(str(bare)), TaskOptions())
    keys = {f.fingerprint for f in result.findings}
    assert (fingerprint(allowed) in keys) == (layout in ("folder", "unborn"))
