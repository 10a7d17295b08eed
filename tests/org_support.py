"""An organisation of 50 small repositories, built at run time for the ``keysentry org`` tests.

Built with ``git fast-import`` (one process per repository, no checkout of history):
some share keys, some are bare, some were pushed (a remote-tracking ref holds the key),
one has a key only in its working tree, one ignores its key in its own .keysentry.toml,
one is damaged (an object deleted), one is audited from a ``file://`` clone URL and one
clone URL fails. ``expected`` is what ``keysentry history`` (and the working-tree scan)
says of each repository on its own: what the org audit must match.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from conftest import commit_file, git, git_env, new_key, tool
from keysentry import config as config_mod
from keysentry.audits import history
from keysentry.audits.scan_files import scan_paths
from keysentry.formats import FORMATS, RenderOptions
from keysentry.model.key import fingerprint
from keysentry.model.report import Report

REPOSITORIES = 50
SHARED_KEYS = 6


@dataclass
class Organisation:
    root: Path  # the folder --discover searches
    repos_file: Path  # every repository: 48 paths and 2 clone URLs
    locations: list[str]  # as the repos file names them
    keys: list[str]
    expected: dict[str, set[str]] = field(default_factory=dict)  # location -> fingerprints
    history_reports: dict[str, dict] = field(default_factory=dict)  # location -> history JSON
    bare: set[str] = field(default_factory=set)
    pushed: set[str] = field(default_factory=set)  # repositories where a key was pushed
    damaged: str = ""
    failing_url: str = ""
    clone_url: str = ""
    untracked_key: str = ""
    allowed_key: str = ""  # the key a repository's own config allows

    @property
    def all_keys(self) -> set[str]:
        return set().union(*self.expected.values())


def _blob(text: str) -> str:
    return f"data {len(text.encode())}\n{text}"


def _fast_import(repo: Path, number: int, key: str | None, placement: str, pushed: bool) -> None:
    """Two or three commits on main; the key placed as placement says."""
    when = 1_700_000_000 + number * 1000
    out: list[str] = []

    def commit(mark: int, message: str, files: dict[str, str | None], parent: int | None) -> None:
        out.append("commit refs/heads/main")
        out.append(f"mark :{mark}")
        out.append(f"committer Org Tester <org@example.com> {when + mark} +0000")
        out.append(_blob(message))
        if parent:
            out.append(f"from :{parent}")
        for path, content in files.items():
            if content is None:
                out.append(f"D {path}")
            else:
                out.append(f"M 100644 inline {path}")
                out.append(_blob(content))

    readme = f"# service {number}\n\nNothing secret here.\n"
    commit(1, f"start service {number}", {"README.md": readme}, None)
    if key is None or placement == "none":
        commit(2, "docs", {"docs/usage.md": "Run it.\n"}, 1)
    elif placement == "removed":  # history only
        commit(2, "settings", {"config/settings.py": f'DEEPSEEK_API_KEY = "{key}"\n'}, 1)
        commit(3, "move the key to the environment", {"config/settings.py": None}, 2)
    elif placement == "head":
        commit(2, "client", {"public/app.js": f'const deepseekKey = "{key}";\n'}, 1)
    else:  # the commit message
        commit(2, f"deepseek key for staging: {key}", {"docs/usage.md": "Run it.\n"}, 1)
    if pushed:
        out.append("reset refs/remotes/origin/main")
        out.append(f"from :{2 if placement != 'removed' else 3}")
    fast_import(repo, out)


def fast_import(repo: Path, commands: list[str]) -> None:
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=repo,
        input="\n".join(commands) + "\n",
        text=True,
        env=git_env(),
        check=True,
        capture_output=True,
    )


def build(root: Path) -> Organisation:
    """The 50 repositories under root/org, and the per-repository expectations."""
    org_root = root / "org"
    org_root.mkdir()
    keys = [new_key() for _ in range(SHARED_KEYS)]
    locations: list[str] = []
    placements = ("removed", "head", "none", "message")
    org = Organisation(org_root, root / "repos.txt", locations, keys)
    for number in range(REPOSITORIES - 3):
        bare = number % 5 == 4
        repo = org_root / f"team-{number % 3}" / f"svc-{number:02d}{'.git' if bare else ''}"
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main", *(["--bare"] if bare else []))
        placement = placements[number % 4]
        pushed = number % 2 == 1 and placement != "none"
        _fast_import(repo, number, keys[number % SHARED_KEYS], placement, pushed)
        git(repo, "config", "remote.origin.url", f"git@example.com:org/svc-{number:02d}.git")
        if not bare:
            git(repo, "reset", "-q", "--hard")
        location = os.path.normpath(repo)
        locations.append(location)
        if bare:
            org.bare.add(location)
        if pushed:
            org.pushed.add(location)
    # a key only in one working tree (untracked): history cannot see it, the tree scan does
    org.untracked_key = new_key()
    untracked = Path(locations[2])
    (untracked / "notes.txt").write_text(f"deepseek staging key {org.untracked_key}\n")
    # a repository whose own .keysentry.toml allows its key
    org.allowed_key = new_key()
    allowed = Path(locations[6])
    (allowed / ".keysentry.toml").write_text(
        f'allowed_fingerprints = ["{fingerprint(org.allowed_key)}"]\n'
    )
    commit_file(allowed, "app/keys.py", f'DEEPSEEK_API_KEY = "{org.allowed_key}"\n', "key")
    commit_file(allowed, ".keysentry.toml", (allowed / ".keysentry.toml").read_text(), "cfg")
    # a damaged repository: a loose object deleted
    damaged = org_root / "damaged"
    damaged.mkdir()
    git(damaged, "init", "-q", "-b", "main")
    commit_file(damaged, "keep.py", f'deepseek_key = "{keys[0]}"\n', "keep")
    commit_file(damaged, "lost.txt", "lost content\n", "lost")
    lost = git(damaged, "rev-parse", "HEAD:lost.txt").strip()
    (damaged / ".git" / "objects" / lost[:2] / lost[2:]).unlink()
    org.damaged = os.path.normpath(damaged)
    locations.append(org.damaged)
    # audited from a clone URL (outside the discovered folder), and a URL that fails
    source = root / "upstream" / "shared.git"
    source.mkdir(parents=True)
    git(source, "init", "-q", "-b", "main", "--bare")
    _fast_import(source, 99, keys[1], "head", False)
    org.clone_url = source.as_uri()
    org.failing_url = (root / "upstream" / "missing.git").as_uri()
    locations += [org.clone_url, org.failing_url]
    lines = ["# the organisation's repositories", *locations, ""]
    org.repos_file.write_text("\n".join(lines))
    for location in locations:
        org.history_reports[location], org.expected[location] = _expected(org, location, source)
    return org


def relocated(org: Organisation, root: Path) -> Organisation:
    """A copy of the organisation under root (a test that changes a repository gets its
    own: the built one is shared by every org test of the session)."""
    old = str(org.root.parent)
    shutil.copytree(old, root, symlinks=True, dirs_exist_ok=True)
    new = str(root)

    def moved(text: str) -> str:
        return text.replace(old, new)

    (root / org.repos_file.name).write_text(moved(org.repos_file.read_text()))
    copy = Organisation(
        root / org.root.name,
        root / org.repos_file.name,
        [moved(n) for n in org.locations],
        list(org.keys),
        {moved(n): set(found) for n, found in org.expected.items()},
        {moved(n): json.loads(moved(json.dumps(r))) for n, r in org.history_reports.items()},
        {moved(n) for n in org.bare},
        {moved(n) for n in org.pushed},
        moved(org.damaged),
        moved(org.failing_url),
        moved(org.clone_url),
        org.untracked_key,
        org.allowed_key,
    )
    return copy


def _expected(org: Organisation, location: str, source: Path) -> tuple[dict, set[str]]:
    """keysentry history's JSON report of one repository, and every key it and its tree hold."""
    if location == org.failing_url:
        return {}, set()
    path = source if location == org.clone_url else Path(location)
    config = config_mod.Config()
    if location not in org.bare and location != org.clone_url:
        config = config_mod.load(None, path)
    report = history.audit(path, config)
    rendered = FORMATS["json"](report, RenderOptions(command="history"))
    found = {f.fingerprint for f in report.findings}
    if location not in org.bare and location != org.clone_url:
        tree = scan_paths([str(path)], config, Report(), jobs=1)
        found |= {f.fingerprint for f in tree.findings}
    return json.loads(rendered), found


@dataclass
class ExternalCluster:
    """A ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_cluster(folder: Path, workers: int = 2) -> ExternalCluster:
    """The scheduler on a free port of 127.0.0.1, and workers without nannies (a killed
    worker process is gone for good, as on a machine that died)."""
    dask = tool("dask")
    scheduler_file = folder / "scheduler.json"
    log = (folder / "scheduler.log").open("wb")
    scheduler = subprocess.Popen(
        [
            dask,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() or not scheduler_file.read_text().strip():
        if time.monotonic() > deadline or scheduler.poll() is not None:
            scheduler.kill()
            raise RuntimeError(
                f"dask scheduler did not start: {(folder / 'scheduler.log').read_text()}"
            )
        time.sleep(0.05)
    address = json.loads(scheduler_file.read_text())["address"]
    procs = []
    for number in range(workers):
        worker_log = (folder / f"worker-{number}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--name",
                    f"worker-{number}",
                ],
                stdout=worker_log,
                stderr=subprocess.STDOUT,
            )
        )
    cluster = ExternalCluster(address, scheduler, procs)
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=60)
    return cluster


def fingerprints_by_repository(report_json: dict) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for outcome in report_json["repositories"]:
        found.setdefault(outcome["name"], set())
    for finding in report_json["findings"]:
        found[finding["repository"]["name"]].add(finding["fingerprint"])
    return found


def history_places(history_json: dict) -> set[tuple]:
    return {
        (f["fingerprint"], f["path"], f["line"], f["column"], f["source"], f["commit"])
        for f in history_json.get("findings", [])
    }


def org_history_places(report_json: dict, location: str) -> set[tuple]:
    return {
        (f["fingerprint"], f["path"], f["line"], f["column"], f["source"], f.get("commit"))
        for f in report_json["findings"]
        if f["repository"]["name"] == location and f["source"] != "file"
    }


def check_against_history(organisation: Organisation, report_json: dict) -> None:
    """Same keys per repository as history + tree scan, each history place once, grouped once."""
    found = fingerprints_by_repository(report_json)
    assert found == organisation.expected
    for location, history_json in organisation.history_reports.items():
        assert org_history_places(report_json, location) == history_places(history_json)
    grouped = [k["fingerprint"] for k in report_json["keys"]]
    assert sorted(grouped) == sorted(organisation.all_keys)  # each key once, across repos


@dataclass
class BigRepository:
    """A repository big enough to split, and where its keys are."""

    path: Path
    keys: list[str]
    history_json: dict


def big_repository(path: Path, files: int = 16, size: int = 1 << 20) -> BigRepository:
    """files of random text (size bytes each) over as many commits, with keys in the first
    blob, a blob of the middle (removed by the next commit), a commit message, the last
    blob and an annotated tag's message; a work tree checked out."""
    keys = [new_key() for _ in range(5)]
    git(path, "init", "-q", "-b", "main")
    out: list[str] = []
    for number in range(files):
        out += ["commit refs/heads/main", f"mark :{number + 1}"]
        out.append(f"committer Org Tester <org@example.com> {1_700_000_000 + number} +0000")
        message = f"part {number}" + (f"\n\nstaging key {keys[2]}" if number == files // 3 else "")
        out.append(_blob(message))
        if number:
            out.append(f"from :{number}")
        text = os.urandom(size // 2).hex()
        if number == 0:
            text = f'DEEPSEEK_API_KEY = "{keys[0]}"\n' + text
        if number == files // 2:
            text += f'\nDEEPSEEK_API_KEY = "{keys[1]}"\n'
        if number == files - 1:
            text += f'\nconst deepseekKey = "{keys[3]}";\n'
        out += [f"M 100644 inline data/part-{number:03d}.txt", _blob(text)]
        if number == files // 2 + 1:
            out.append(f"D data/part-{files // 2:03d}.txt")
    out += ["tag v1", f"from :{files}", "tagger Org Tester <org@example.com> 1700009999 +0000"]
    out.append(_blob(f"release; the key was {keys[4]}"))
    fast_import(path, out)
    git(path, "reset", "-q", "--hard")
    report = history.audit(path, config_mod.Config())
    rendered = json.loads(FORMATS["json"](report, RenderOptions(command="history")))
    return BigRepository(path, keys, rendered)


def descendants(pid: int) -> list[int]:
    """The processes under pid (Linux /proc), children first."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as handle:
                    children = [int(c) for c in handle.read().split()]
            except OSError:
                continue
            found += children
            pending += children
    return found
