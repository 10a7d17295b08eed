"""Worker processes for CPU-bound scans, with results handed back in task order.

Forked workers start in milliseconds because they inherit the imported modules;
fork is only used while this process runs a single thread (forking a threaded
process can copy a held lock), and callers fall back to one process otherwise.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 8
IN_FLIGHT_PER_WORKER = 4  # tasks queued ahead per worker: enough to never idle, bounded memory


def available_workers(limit: int | None = None) -> int:
    """How many worker processes are worth starting: one per usable core, at most limit."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    workers = min(cores, MAX_WORKERS if limit is None else limit)
    if workers < 2 or threading.active_count() > 1 or not sys.platform.startswith("linux"):
        return 1  # fork is the default, and safe, on Linux only
    return workers


def ordered_map(
    func: Callable[[T], R],
    tasks: Iterable[T],
    workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[R]:
    """func(task) for every task, run in worker processes, yielded in the order of tasks.

    Tasks are drawn from the iterable only as workers need them, so a lazy walk
    stays lazy and memory stays bounded.
    """
    # Imported here: ~30 ms that scans too small for workers should not pay.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    start = (initializer, *initargs)
    with ProcessPoolExecutor(workers, context, _start_worker, start) as executor:
        pending: deque[Future[R]] = deque()
        for task in tasks:
            pending.append(executor.submit(func, task))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _start_worker(initializer: Callable[..., None] | None, *initargs: Any) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the scan, workers
    # finish their batch quietly instead of each printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*initargs)
