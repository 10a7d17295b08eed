"""Running ``keysentry org``'s tasks on Dask distributed, and nothing else.

By default a LocalCluster on this machine: one worker process per core, one thread
each (a repository's audit is Python: threads would share one interpreter lock), and a
memory limit per worker, so the command works with nothing else running. Given a
scheduler address (``--scheduler`` or ``DASK_SCHEDULER_ADDRESS``) the same tasks run on
that cluster instead.

Small repositories go several to a task (one forked child audits them in turn:
audits/org_fork.py), a repository whose object store is above ``split_bytes`` is split
into object ranges across several tasks (audits/org_split.py), and everything is
submitted at once, the split repositories first; results are yielded as they
complete, so the caller merges, records state and draws progress while the rest
still run. A task
whose worker died is rescheduled by Dask itself (``distributed.scheduler.allowed-failures``
deaths per task); a task that raised is retried ``retries`` times (``submit(retries=)``).
``dask`` is imported here only: no other command pays for it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from keysentry.audits.org_split import (
    DEFAULT_SPLIT_BYTES,
    SplitPlan,
    merge_task,
    part_task,
    parts_for,
    plan_task,
    store_bytes,
)
from keysentry.audits.org_task import (
    RepoResult,
    RepoSpec,
    TaskOptions,
    audit_repositories_task,
)
from keysentry.model.finding import RepositoryRef
from keysentry.model.report import ScanError

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
DEFAULT_MEMORY_LIMIT = "auto"  # Dask's share of this machine's memory per worker
TASK_RETRIES = 1  # a task that raised (not one whose worker died: Dask counts those)
CONNECT_SECONDS = 30
PROBE_SECONDS = 5  # a scheduler address that refuses connections is an error at once
# a worker is forked from this process (Dask and keysentry imported) and then audits: below
# this its nanny kills it as it starts, over and over
MIN_WORKER_MEMORY = 256 * 1024 * 1024
MP_METHOD = "distributed.worker.multiprocessing-method"
FORK_WORKERS = "fork"
# a LocalCluster's own periodic work, slowed where it only feeds Dask's dashboard and
# health warnings: idle, its 2 workers and the client spent 0.3 s of CPU per 3 s on it
# (a tenth of a 2-core machine), 0.05 s with these; the memory monitor still enforces
# --memory-limit, within half a second
LOCAL_CLUSTER_CONFIG: dict[str, object] = {
    "distributed.worker.profile.enabled": False,  # a stack sample of each worker every 10 ms
    "distributed.admin.tick.interval": "1s",  # the event loop's health check (20 ms)
    "distributed.worker.memory.monitor-interval": "500ms",  # nanny and worker (100 ms)
}
BATCH_REPOSITORIES = 16  # small repositories per task, at most
BATCH_BYTES = 8 * 1024 * 1024  # object store bytes per task, about


class ClusterError(Exception):
    """The cluster could not be started or reached; the message says which."""


@dataclass(frozen=True)
class ClusterSettings:
    scheduler: str | None = None  # tcp://HOST:PORT; None: a LocalCluster here
    workers: int | None = None  # LocalCluster workers (default: one per core)
    memory_limit: str = DEFAULT_MEMORY_LIMIT  # per LocalCluster worker, e.g. "2GiB"
    split_bytes: int | None = DEFAULT_SPLIT_BYTES  # object store size above which to split


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Cluster:
    """A Dask client (and the LocalCluster it owns, if any) for one org run."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self.client: Any = None
        self._local: Any = None
        self._config = contextlib.ExitStack()
        self.start_seconds = 0.0

    def __enter__(self) -> Cluster:
        started = time.monotonic()
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ClusterError(
                "keysentry org needs Dask distributed: pip install 'keysentry[org]'"
            ) from exc
        address = self.settings.scheduler or os.environ.get(SCHEDULER_ENV) or None
        try:
            if address:
                _probe(address)
                self.client = Client(address, timeout=CONNECT_SECONDS)
            else:
                _check_memory_limit(self.settings.memory_limit)
                self._config.enter_context(dask.config.set(LOCAL_CLUSTER_CONFIG))
                if FORK_WORKERS in multiprocessing.get_all_start_methods():
                    # forked from this process, a worker starts with Dask and keysentry
                    # imported: well under a second, where spawning one takes seconds
                    self._config.enter_context(dask.config.set({MP_METHOD: FORK_WORKERS}))
                self._local = LocalCluster(
                    n_workers=self.settings.workers or usable_cores(),
                    threads_per_worker=1,
                    processes=True,
                    memory_limit=self.settings.memory_limit,
                    dashboard_address=":0",  # any free port (the scheduler serves health checks)
                    silence_logs=logging.ERROR,
                )
                self.client = Client(self._local)
        except (OSError, TimeoutError, ValueError, RuntimeError) as exc:
            # RuntimeError: LocalCluster's "Cluster failed to start: <the reason>"
            self.__exit__(None, None, None)
            where = address or "a LocalCluster"
            raise ClusterError(f"cannot start or reach the Dask cluster ({where}): {exc}") from exc
        self.start_seconds = time.monotonic() - started
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with contextlib.suppress(Exception):
            if self.client is not None:
                self.client.close()
        with contextlib.suppress(Exception):
            if self._local is not None:
                self._local.close()
        self._config.close()

    @property
    def workers(self) -> int:
        """Worker threads the scheduler knows now (for the timing summary)."""
        info = self.client.scheduler_info()
        return sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()) or 1

    def results(
        self,
        specs: list[RepoSpec],
        options: TaskOptions,
        known: dict[str, str],
    ) -> Iterator[tuple[int, RepoResult]]:
        """(index in specs, result) for each repository, in the order they complete.

        A repository whose object store is above ``split_bytes`` is planned first (a
        task: its object ranges, audits/org_split.py); when the plan is in, one task per
        range goes out, each carrying its range (so any idle worker takes it), and a
        merge that waits for them all. The others go in batches, several small
        repositories to a task.
        """
        from distributed import as_completed

        run = uuid.uuid4().hex[:8]
        index: dict[str, list[int]] = {}  # a future's key -> the repositories it answers
        plans: dict[str, int] = {}  # a plan's key -> its repository
        plan = plan_tasks(specs, self.settings.split_bytes, self.workers)
        submitted: list[Any] = []
        for number, parts in plan.split:
            spec = specs[number]
            planned = self.client.submit(
                plan_task, spec, options, known.get(spec.location), parts,
                self.settings.split_bytes,
                key=f"keysentry-org-{run}-{number}-plan", priority=1, **_TASK,
            )  # fmt: skip
            plans[planned.key] = number
            submitted.append(planned)
        for first, batch in enumerate(plan.batches):
            chosen = [specs[n] for n in batch]
            digests = {s.location: known[s.location] for s in chosen if s.location in known}
            future = self.client.submit(
                audit_repositories_task, chosen, options, digests,
                key=f"keysentry-org-{run}-batch{first}", **_TASK,
            )  # fmt: skip
            index[future.key] = batch
            submitted.append(future)
        seen: set[int] = set()
        running = as_completed(submitted)
        try:
            for future in running:
                if future.key in plans:
                    number = plans[future.key]
                    whole = _planned_result(future)
                    if whole is not None:  # a clone URL audited whole, or nothing to split
                        seen.add(number)
                        future.release()
                        yield number, whole
                        continue
                    merged = self._split(future, specs[number], options, f"{run}-{number}")
                    submitted.append(merged)
                    index[merged.key] = [number]
                    running.add(merged)
                    continue
                numbers = index[future.key]
                for number, result in zip(
                    numbers, _outcomes(future, [specs[n] for n in numbers]), strict=True
                ):
                    if number in seen:  # never merge one repository twice
                        continue
                    seen.add(number)
                    yield number, result
                future.release()
        finally:
            self.client.cancel([f for f in submitted if f.status == "pending"])

    def _split(self, planned: Any, spec: RepoSpec, options: TaskOptions, name: str) -> Any:
        """The parts and the merge of a planned repository; the merge's future."""
        if planned.status != "finished":  # the merge reports why the plan failed
            return self.client.submit(
                merge_task, planned, [], options, key=f"keysentry-org-{name}-merge", **_TASK
            )
        plan: SplitPlan = planned.result()
        planned.release()
        ranges, shared = plan.ranges, replace(plan, ranges=[])
        # a clone's parts and merge run where it is: on a worker of its host if one is left
        where: dict[str, Any] = {}
        if plan.host is not None:
            where = {"workers": [plan.host], "allow_other_workers": True}
        parts = []
        for i, piece in enumerate(ranges):
            key = f"keysentry-org-{name}-part{i}"
            parts.append(
                self.client.submit(
                    part_task, shared, piece, options, key=key, priority=1, **where, **_TASK
                )
            )
        return self.client.submit(
            merge_task, shared, parts, options, len(ranges),
            key=f"keysentry-org-{name}-merge", priority=1, **where, **_TASK,
        )  # fmt: skip


def _probe(address: str) -> None:
    """A ``tcp://HOST:PORT`` where nothing listens fails now, not after CONNECT_SECONDS of
    Dask's retries; anything else (other schemes, a slow host) is left to Dask."""
    scheme, _, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme != "tcp" or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), PROBE_SECONDS):
            pass
    except ConnectionRefusedError as exc:
        raise ClusterError(
            f"no Dask scheduler answers at {address} (connection refused): start one"
            " (`dask scheduler`) or leave out --scheduler for a LocalCluster"
        ) from exc
    except OSError:  # unreachable or slow: Dask's own timeout and message
        return


def _check_memory_limit(limit: str) -> None:
    """A per-worker memory limit a worker cannot start within is an error before any starts."""
    from distributed.worker_memory import parse_memory_limit

    try:
        size = parse_memory_limit(limit, 1, logger=logging.getLogger("distributed.worker"))
    except (ValueError, TypeError) as exc:
        raise ClusterError(f"--memory-limit {limit}: {exc}") from exc
    if size is not None and size < MIN_WORKER_MEMORY:
        raise ClusterError(
            f"--memory-limit {limit} per worker is below what a worker needs to start"
            f" ({MIN_WORKER_MEMORY >> 20} MiB at least; Dask would kill each worker as it"
            " starts)"
        )


_TASK: dict[str, Any] = {"pure": False, "retries": TASK_RETRIES}


@dataclass(frozen=True)
class TaskPlan:
    # (index in specs, parts) of the repositories split; parts 0: a clone URL, whose plan
    # task clones it, then splits it or (small) audits it whole
    split: list[tuple[int, int]]
    batches: list[list[int]]  # indexes in specs, one list per task


def plan_tasks(specs: list[RepoSpec], split_bytes: int | None, workers: int) -> TaskPlan:
    """Which repositories split, and how the rest are batched.

    Batches are small enough to keep every worker busy to the end (about four per
    worker) and at most BATCH_REPOSITORIES each; a clone URL (its size unknown, its
    clone slow) gets a task of its own (a plan task, unless nothing splits), as does a
    local repository above BATCH_BYTES.
    """
    split: list[tuple[int, int]] = []
    small: list[tuple[int, int]] = []
    for number, spec in enumerate(specs):
        if spec.is_url and split_bytes:  # its size is known once cloned: the plan task clones
            split.append((number, 0))
            continue
        size = 0 if spec.is_url else store_bytes(spec.location)
        parts = parts_for(size, split_bytes)
        if parts > 1:
            split.append((number, parts))
        else:
            small.append((number, -1 if spec.is_url else size))
    per_batch = max(1, min(BATCH_REPOSITORIES, -(-len(small) // (4 * max(workers, 1)))))
    batches: list[list[int]] = []
    current: list[int] = []
    held = 0
    for number, size in small:
        if size < 0 or size >= BATCH_BYTES:
            batches.append([number])
            continue
        current.append(number)
        held += size
        if len(current) >= per_batch or held >= BATCH_BYTES:
            batches.append(current)
            current, held = [], 0
    if current:
        batches.append(current)
    return TaskPlan(split, batches)


def _planned_result(planned: Any) -> RepoResult | None:
    """The result a plan task already holds (a clone audited whole, a failure, unchanged)."""
    if planned.status != "finished":
        return None
    plan: SplitPlan = planned.result()
    return plan.result


def _outcomes(future: Any, specs: list[RepoSpec]) -> list[RepoResult]:
    if future.status == "finished":
        result = future.result()
        return result if isinstance(result, list) else [result]
    try:
        exc = future.exception()
        problem = f"{type(exc).__name__}: {exc}"
    except Exception as other:  # cancelled, lost
        problem = f"{type(other).__name__}: {other}"
    return [
        RepoResult(
            spec,
            RepositoryRef(spec.location),
            errors=[ScanError(spec.location, f"the cluster could not run its audit ({problem})")],
        )
        for spec in specs
    ]
