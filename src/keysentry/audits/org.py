"""``keysentry org``: many repositories audited together, merged into one report.

Which repositories: arguments, a ``--repos`` file (one path or clone URL per line, ``#``
comments) and the repositories found under ``--discover`` directories (bare and non-bare;
the walk stops at a repository, so it never descends into ``.git`` or a work tree).
Each is audited by a task (org_task.py) on a Dask cluster (org_cluster.py); the results
are merged as they arrive into one Report whose findings carry their repository, and
whose ``repositories`` list says what became of each one. Grouping by key across
repositories is the formats' work (guide/leaked_keys.py groups Findings by fingerprint).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from keysentry.audits.org_cluster import Cluster, ClusterSettings
from keysentry.audits.org_state import StateFile
from keysentry.audits.org_task import RepoResult, RepoSpec, TaskOptions, is_clone_url
from keysentry.audits.progress import Progress
from keysentry.model.key import redact_text
from keysentry.model.report import (
    AUDITED,
    FAILED,
    UNCHANGED,
    Report,
    RepositoryOutcome,
)

COMMAND = "org"


class OrgInputError(Exception):
    """A --repos file or --discover directory that cannot be read; the message names it."""


def read_repos_file(path: Path) -> list[RepoSpec]:
    """One path or clone URL per line; blank lines and ``#`` comments skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OrgInputError(f"{path}: cannot read the repository list: {exc}") from exc
    base = path.resolve().parent
    specs = []
    for line in text.splitlines():
        entry = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if entry:
            specs.append(spec_for(entry, base))
    return specs


def spec_for(entry: str, base: Path | None = None) -> RepoSpec:
    """A URL as given; a path made absolute (relative to base, else the current folder)."""
    if is_clone_url(entry):
        return RepoSpec(entry)
    path = Path(entry).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return RepoSpec(os.fsdecode(os.path.normpath(path)))  # as it is on disk: to open it


def _is_bare(folder: str) -> bool:
    return (
        os.path.isfile(os.path.join(folder, "HEAD"))
        and os.path.isdir(os.path.join(folder, "objects"))
        and os.path.isdir(os.path.join(folder, "refs"))
    )


def discover(root: Path) -> list[RepoSpec]:
    """Every repository under root, in path order; a found repository is not descended into."""
    if not root.is_dir():
        raise OrgInputError(f"{root}: --discover needs a directory")
    found: list[RepoSpec] = []

    def walk_error(exc: OSError) -> None:
        raise OrgInputError(f"{exc.filename}: cannot list: {exc.strerror or exc}")

    for folder, dirs, _files in os.walk(os.path.abspath(root), onerror=walk_error):
        if os.path.exists(os.path.join(folder, ".git")) or _is_bare(folder):
            found.append(RepoSpec(os.fsdecode(os.path.normpath(folder))))
            dirs.clear()
            continue
        dirs.sort()
    return found


def collect(
    arguments: Iterable[str], repos_files: Iterable[Path], discover_dirs: Iterable[Path]
) -> list[RepoSpec]:
    """Every repository named, once, in the order given."""
    specs = [spec_for(a) for a in arguments]
    for path in repos_files:
        specs += read_repos_file(path)
    for root in discover_dirs:
        specs += discover(root)
    return list(dict.fromkeys(specs))


def progress_line(done: int, total: int, keys: int, failed: int) -> str:
    """``repositories done/total  keys so far  failed``: the org run's progress display."""
    return f"keysentry: repositories {done}/{total}  keys {keys}  failed {failed}"


@dataclass
class Timing:
    """How an org run spent its time (the CLI prints it; the bench reads it)."""

    workers: int = 0
    cluster_seconds: float = 0.0  # starting or reaching the cluster
    wall_seconds: float = 0.0  # submitting to the last result, merge included
    task_seconds: float = 0.0  # summed over tasks, on the workers
    bytes_scanned: int = 0  # object and file content read by the scanner

    def describe(self, repositories: int) -> str:
        busy = self.task_seconds / max(self.workers * self.wall_seconds, 1e-9)
        per_worker = max(self.wall_seconds, 1e-9) * max(self.workers, 1)
        waiting = max(self.wall_seconds - self.task_seconds / max(self.workers, 1), 0.0)
        return (
            f"{repositories} repositories on {self.workers} worker(s): cluster ready in"
            f" {self.cluster_seconds:.1f} s, audits {self.wall_seconds:.1f} s"
            f" ({self.task_seconds:.1f} s of worker time, workers {busy:.0%} busy,"
            f" {waiting:.1f} s scheduling and waiting per worker;"
            f" {repositories / per_worker:.2f} repositories/s and"
            f" {self.bytes_scanned / per_worker / 1e6:.1f} MB/s per worker)"
        )


def merge(report: Report, result: RepoResult) -> None:
    """Add one repository's result to the organisation's report."""
    report.findings.extend(result.findings)
    report.errors.extend(result.errors)
    report.notes.extend(f"{result.spec.location}: {n}" for n in result.notes)
    report.stats.update(result.stats)
    report.stats["repositories"] += 1
    status = FAILED if result.errors else UNCHANGED if result.unchanged else AUDITED
    report.stats[f"repositories_{status}"] += 1
    report.repositories.append(
        RepositoryOutcome(
            result.repository,
            status,
            findings=len(result.findings),
            keys=len({f.fingerprint for f in result.findings}),
            errors=tuple(result.errors),
            seconds=result.seconds,
            worker=result.worker,
        )
    )


def audit_organisation(
    specs: list[RepoSpec],
    options: TaskOptions,
    settings: ClusterSettings,
    *,
    state_path: Path | None = None,
    progress: bool = False,
    timing: Timing | None = None,
    on_result: Callable[[RepoResult], None] | None = None,
) -> Report:
    """Audit every repository on the cluster; one report, repositories in the order given.

    KeyboardInterrupt stops the run (the cluster is closed); what finished is in the
    state file. StateFileError and ClusterError are raised before any audit starts.
    on_result is called with each repository's result as it is merged.
    """
    report = Report()
    timing = timing if timing is not None else Timing()
    if state_path is not None:
        options = replace(options, digests=True)
    state = StateFile(state_path, options.digest(), options.show_secrets) if state_path else None
    keys: set[str] = set()
    shown = Progress(progress, len(specs))
    try:
        known = {}
        if state is not None:
            report.notes.extend(state.notes)
            known = {s.location: d for s in specs if (d := state.known_digest(s))}
        with Cluster(settings) as cluster:
            timing.cluster_seconds = cluster.start_seconds
            started = time.monotonic()
            for number, result in cluster.results(specs, options, known):
                if result.unchanged and state is not None:
                    result = _stored(state, specs[number], result)
                elif state is not None:
                    state.record(result)
                merge(report, result)  # as it arrives: nothing waits for the slowest
                if on_result is not None:
                    on_result(result)
                keys.update(f.fingerprint for f in result.findings)
                timing.task_seconds += result.seconds
                done = len(report.repositories)
                failed = report.stats["repositories_failed"]
                shown.show(progress_line(done, len(specs), len(keys), failed), done == len(specs))
            timing.wall_seconds = time.monotonic() - started
            timing.bytes_scanned = report.stats["bytes_scanned"]
            timing.workers = cluster.workers
    finally:
        shown.close()
        if state is not None:
            state.close()
    _in_given_order(report, specs)
    return report


def _in_given_order(report: Report, specs: list[RepoSpec]) -> None:
    """The same report whatever order the repositories finished in."""
    # as the report names them: RepositoryRef and ScanError redact a key in a location
    order = {redact_text(spec.location): number for number, spec in enumerate(specs)}

    def rank(name: str | None) -> int:
        return order.get(name or "", len(order))

    report.repositories.sort(key=lambda r: rank(r.repository.name))
    report.findings.sort(key=lambda f: rank(f.repository.name if f.repository else None))
    report.errors.sort(key=lambda e: (rank(e.path), e.path))


def _stored(state: StateFile, spec: RepoSpec, fresh: RepoResult) -> RepoResult:
    stored = state.stored(spec)
    if stored is None:  # pragma: no cover - the digest came from the same state
        return fresh
    stored.seconds, stored.worker = fresh.seconds, fresh.worker
    return stored


def report_file_name(repository: str, extension: str) -> str:
    """A file name for one repository's report: readable, and unique per repository."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", repository).strip("._")[-80:] or "repository"
    digest = hashlib.sha256(repository.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{slug}-{digest}.{extension}"


def per_repository(report: Report, extension: str) -> Iterator[tuple[str, Report]]:
    """(file name, that repository's own report) for each repository of an org report."""
    for outcome in report.repositories:
        findings = [f for f in report.findings if f.repository == outcome.repository]
        part = Report(findings, list(outcome.errors))
        part.stats["repositories"] = 1
        yield report_file_name(outcome.repository.name, extension), part
