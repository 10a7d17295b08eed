"""Running ``keysentry org``'s tasks on Dask distributed, and nothing else.

By default a LocalCluster on this machine: one worker process per core, one thread
each (a repository's audit is Python: threads would share one interpreter lock), and a
memory limit per worker, so the command works with nothing else running. Given a
scheduler address (``--scheduler`` or ``DASK_SCHEDULER_ADDRESS``) the same tasks run on
that cluster instead.

One task per repository, submitted at once; results are yielded as they complete, so
the caller merges, records state and draws progress while the rest still run. A task
whose worker died is rescheduled by Dask itself (``distributed.scheduler.allowed-failures``
deaths per task); a task that raised is retried ``retries`` times (``submit(retries=)``).
``dask`` is imported here only: no other command pays for it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from keysentry.audits.org_task import (
    RepoResult,
    RepoSpec,
    TaskOptions,
    audit_repository_task,
)
from keysentry.model.finding import RepositoryRef
from keysentry.model.report import ScanError

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
DEFAULT_MEMORY_LIMIT = "auto"  # Dask's share of this machine's memory per worker
TASK_RETRIES = 1  # a task that raised (not one whose worker died: Dask counts those)
CONNECT_SECONDS = 30


class ClusterError(Exception):
    """The cluster could not be started or reached; the message says which."""


@dataclass(frozen=True)
class ClusterSettings:
    scheduler: str | None = None  # tcp://HOST:PORT; None: a LocalCluster here
    workers: int | None = None  # LocalCluster workers (default: one per core)
    memory_limit: str = DEFAULT_MEMORY_LIMIT  # per LocalCluster worker, e.g. "2GiB"


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
        self.start_seconds = 0.0

    def __enter__(self) -> Cluster:
        started = time.monotonic()
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ClusterError(
                "keysentry org needs Dask distributed: pip install 'keysentry[org]'"
            ) from exc
        address = self.settings.scheduler or os.environ.get(SCHEDULER_ENV) or None
        try:
            if address:
                self.client = Client(address, timeout=CONNECT_SECONDS)
            else:
                self._local = LocalCluster(
                    n_workers=self.settings.workers or usable_cores(),
                    threads_per_worker=1,
                    processes=True,
                    memory_limit=self.settings.memory_limit,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                self.client = Client(self._local)
        except (OSError, TimeoutError, ValueError) as exc:
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
        """(index in specs, result) for each repository, in the order they complete."""
        from distributed import as_completed

        run = uuid.uuid4().hex[:8]
        index: dict[str, int] = {}
        futures = []
        for number, spec in enumerate(specs):
            future = self.client.submit(
                audit_repository_task,
                spec,
                options,
                known.get(spec.location),
                key=f"keysentry-org-{run}-{number}",
                pure=False,
                retries=TASK_RETRIES,
            )
            index[future.key] = number
            futures.append(future)
        seen: set[int] = set()
        try:
            for future in as_completed(futures):
                number = index[future.key]
                if number in seen:  # never merge one repository twice
                    continue
                seen.add(number)
                yield number, _outcome(future, specs[number])
                future.release()
        finally:
            self.client.cancel([f for f in futures if f.status == "pending"])


def _outcome(future: Any, spec: RepoSpec) -> RepoResult:
    if future.status == "finished":
        result: RepoResult = future.result()
        return result
    try:
        exc = future.exception()
        problem = f"{type(exc).__name__}: {exc}"
    except Exception as other:  # cancelled, lost
        problem = f"{type(other).__name__}: {other}"
    return RepoResult(
        spec,
        RepositoryRef(spec.location),
        errors=[ScanError(spec.location, f"the cluster could not run its audit ({problem})")],
    )
