"""A large repository audited as several tasks: its objects split into ranges.

``history`` splits a store between ``cat-file`` streams on one machine
(sources/git_history.py: the pack-ordered object list, cut into parts of equal
bytes); ``keysentry org`` does the same across workers. Three kinds of task:

1. ``plan_task``: opens the repository, reads its configuration, lists its objects
   and cuts the list into ``parts`` ranges of about equal bytes;
2. ``part_task`` (one per range, on any worker): scans its range's objects, as a
   history stream does, and returns what held keys (StreamScan, no full key unless
   asked);
3. ``merge_task``: scans the working tree, then runs history's second phase over the
   parts' results (where each key lives: commits, paths, refs, HEAD), so the merged
   result is the one an unsplit audit gives: each object was in exactly one range,
   and nothing is merged before every part is in.

Dask passes each task its inputs' results; a part whose worker died is run again by
Dask, and only the merge's result reaches the report, so nothing is lost or counted
twice. Each task runs in a forked child with the per-repository timeout.

A clone URL's size is known only once it is cloned, so its plan task clones it (into
the worker's scratch folder): a small one is audited there and then, whole; a large
one is planned like a local one, and its parts and merge are restricted to the host
that holds the clone (its workers share its filesystem; on a LocalCluster that is
every worker). The merge removes the clone. A part that lands elsewhere (every worker
of that host gone) fails, naming the host, and the repository is reported failed.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from keysentry.audits.history_scan import StreamScan, scan_threaded
from keysentry.audits.org_fork import run_forked
from keysentry.audits.org_task import (
    CLONE_DIR_PREFIX,
    Cloned,
    Opened,
    RepoResult,
    RepoSpec,
    TaskOptions,
    audit_clone,
    audit_opened,
    clone_url,
    failed_result,
    guarded,
    open_repository,
    rename_clone,
    task_config,
    warm,
    worker_name,
)
from keysentry.audits.progress import Progress
from keysentry.config import Config
from keysentry.model.report import Report
from keysentry.sources.git_files import store_size
from keysentry.sources.git_history import HistoryError, HistoryRepository

DEFAULT_SPLIT_BYTES = 32 * 1024 * 1024  # object store on disk above which a repository splits
MAX_PARTS = 16


@dataclass
class SplitPlan:
    """What the parts and the merge of one split repository share."""

    spec: RepoSpec
    opened: Opened | None = None
    config: Config | None = None
    report: Report = field(default_factory=Report)  # configuration errors, kept for the merge
    ranges: list[bytes] = field(default_factory=list)  # object ids, one a line, per part
    result: RepoResult | None = None  # set when there is nothing to split: failed, unchanged
    seconds: float = 0.0
    cloned: Cloned | None = None  # a clone URL's mirror, in scratch; the merge removes it
    host: str | None = None  # where the clone is: the parts and the merge run on this host


@dataclass
class PartResult:
    scanned: list[StreamScan]
    seconds: float = 0.0


def store_bytes(location: str) -> int:
    """The size on disk of a local repository's object store (0 when it cannot be seen)."""
    for git_dir in (os.path.join(location, ".git"), location):
        if os.path.isdir(os.path.join(git_dir, "objects")):
            return store_size(Path(git_dir))
    return 0


def parts_for(size: int, split_bytes: int | None) -> int:
    """Tasks for a repository of this store size: 1 (not split) unless above split_bytes."""
    if not split_bytes or size <= split_bytes:
        return 1
    return min(-(-size // split_bytes), MAX_PARTS)


def plan_task(
    spec: RepoSpec,
    options: TaskOptions,
    known_digest: str | None,
    parts: int,
    split_bytes: int | None = None,
) -> SplitPlan:
    """The plan of a repository split into parts (a local one: ``parts``; a clone URL:
    cloned first, then split by ``split_bytes`` or audited here whole)."""
    warm()
    scratch = tempfile.mkdtemp(prefix=CLONE_DIR_PREFIX) if spec.is_url else None
    plan = run_forked(
        [lambda: _timed_plan(spec, options, known_digest, parts, scratch, split_bytes)],
        lambda _, why: SplitPlan(spec, result=failed_result(spec, why)),
        options.timeout,
    )[0]
    if scratch is not None and plan.cloned is None:  # audited whole, failed or unchanged
        shutil.rmtree(scratch, ignore_errors=True)
    if plan.cloned is not None:
        plan.host = worker_host()
    if plan.result is not None:
        plan.result.worker = worker_name()
    return plan


def worker_host() -> str | None:
    """The host of the Dask worker running this task (None outside a worker)."""
    try:
        from distributed import get_worker
        from distributed.comm import get_address_host

        return str(get_address_host(get_worker().address))
    except (ImportError, ValueError):
        return None


def _timed_plan(
    spec: RepoSpec,
    options: TaskOptions,
    known_digest: str | None,
    parts: int,
    scratch: str | None,
    split_bytes: int | None,
) -> SplitPlan:
    started = time.monotonic()
    try:
        if scratch is not None:
            plan = _plan_clone(spec, options, known_digest, scratch, split_bytes)
        else:
            plan = _plan(spec, Path(spec.location), options, known_digest, parts)
    except Exception as exc:  # a bug must cost one repository, not the run
        why = f"the audit failed: {type(exc).__name__}: {exc}"
        plan = SplitPlan(spec, result=failed_result(spec, why))
    plan.seconds = time.monotonic() - started
    if plan.result is not None:
        plan.result.seconds = plan.seconds
    return plan


def _plan_clone(
    spec: RepoSpec,
    options: TaskOptions,
    known_digest: str | None,
    scratch: str,
    split_bytes: int | None,
) -> SplitPlan:
    cloned = clone_url(spec, options, known_digest, scratch)
    if isinstance(cloned, RepoResult):
        return SplitPlan(spec, result=cloned)
    parts = parts_for(store_bytes(cloned.path), split_bytes)
    if parts <= 1:
        return SplitPlan(spec, result=audit_clone(spec, cloned, options))
    plan = _plan(spec, Path(cloned.path), replace(options, digests=False), None, parts, cloned)
    if plan.result is None:
        plan.cloned = cloned
    else:
        rename_clone(plan.result, cloned.path, spec.location)
    return plan


def _plan(
    spec: RepoSpec,
    path: Path,
    options: TaskOptions,
    known_digest: str | None,
    parts: int,
    cloned: Cloned | None = None,
) -> SplitPlan:
    remote = spec.location if cloned is not None else None
    opened = open_repository(spec, path, options, remote)
    if isinstance(opened, RepoResult):
        return SplitPlan(spec, result=opened)
    if cloned is not None:
        opened = replace(opened, digest=cloned.digest)
    if opened.digest is not None and opened.digest == known_digest:
        return SplitPlan(spec, result=RepoResult(spec, opened.ref, opened.digest, unchanged=True))
    plan = SplitPlan(spec, opened)
    plan.config = task_config(opened, options, plan.report)
    try:
        listed = HistoryRepository(opened.path, opened.repository).object_list()
    except HistoryError:  # the merge's unsplit audit reports it, and goes on past it
        return plan
    plan.ranges = listed.parts(parts, minimum=1)
    return plan


def part_task(plan: SplitPlan, objects: bytes, options: TaskOptions) -> PartResult:
    """Scan one range of a split repository's objects (object ids, one a line)."""
    warm()
    opened, config = plan.opened, plan.config or Config()
    assert opened is not None

    def scan() -> PartResult:
        started = time.monotonic()
        if plan.cloned is not None and not os.path.isdir(plan.cloned.path):
            where = f"on {plan.host}" if plan.host else "elsewhere"
            return failed(0, f"the clone is {where}, not on {socket.gethostname()}")
        try:
            repo = HistoryRepository(opened.path, opened.repository)
            with repo.requested([objects]) as batch:
                scanned = [p.portable() for p in scan_threaded(config, batch, Progress(False, 0))]
        except (HistoryError, OSError) as exc:
            return failed(0, f"reading objects failed: {exc}")
        return PartResult(scanned, time.monotonic() - started)

    def failed(_: int, why: str) -> PartResult:
        part = StreamScan(config, iter(()))
        part.failure = why
        return PartResult([part.portable()])

    return run_forked([scan], failed, options.timeout)[0]


def merge_task(
    plan: SplitPlan, parts: list[PartResult], options: TaskOptions, ranges: int = 0
) -> RepoResult:
    """The working tree, then history's second phase over every part (ranges of them;
    none: the plan found nothing to split, and the repository is audited here whole).
    A clone's messages name its URL, and the clone is removed."""
    try:
        result = _merge(plan, parts, options, ranges)
    finally:
        if plan.cloned is not None:
            shutil.rmtree(os.path.dirname(plan.cloned.path), ignore_errors=True)
    if plan.cloned is not None:
        rename_clone(result, plan.cloned.path, plan.spec.location)
    return result


def _merge(
    plan: SplitPlan, parts: list[PartResult], options: TaskOptions, ranges: int
) -> RepoResult:
    spent = plan.seconds + sum(p.seconds for p in parts)
    if plan.result is not None:
        plan.result.seconds += spent
        plan.result.worker = worker_name()
        return plan.result
    warm()
    opened = plan.opened
    assert opened is not None
    scanned = [s for p in parts for s in p.scanned] if ranges else None

    def merge() -> RepoResult:
        started = time.monotonic()
        config = plan.config or Config()
        result = guarded(
            lambda: audit_opened(opened, options, config, plan.report, scanned), plan.spec
        )
        result.seconds = time.monotonic() - started
        return result

    result = run_forked([merge], lambda _, why: failed_result(plan.spec, why), options.timeout)[0]
    if ranges:
        result.stats["object_ranges"] += ranges
    result.seconds += spent
    result.worker = worker_name()
    return result
