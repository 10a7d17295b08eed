"""Worker processes for CPU-bound scans, with results handed back in task order.

Forked workers start in milliseconds because they inherit the imported modules;
fork is only used while this process runs a single thread (forking a threaded
process can copy a held lock), and callers fall back to one process otherwise.

Each worker has a pipe of its own and holds one task at a time, and this process
waits on the pipes itself: no helper threads, so no hand-over of the interpreter
lock between threads on every task (concurrent.futures spent ~1 ms per task on it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 8
JOIN_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class WorkerDied(RuntimeError):
    """A worker process ended without answering (killed, out of memory)."""


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


def die_with_parent(parent: int) -> None:
    """In a forked worker: end when the parent ends, however it ends (SIGKILL included).

    Linux's prctl(PR_SET_PDEATHSIG) has the kernel send SIGKILL when the parent dies;
    a parent already gone by then (the worker's parent is no longer ``parent``) ends it
    here. A worker ignores Ctrl-C and SIGTERM's default handler is back: the parent
    stops it (audits/interrupt.py)."""
    from keysentry.audits.interrupt import reset_in_child

    reset_in_child()
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def ordered_map(
    func: Callable[[T], R],
    tasks: Iterable[T],
    workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[R]:
    """func(task) for every task, run in worker processes, yielded in the order of tasks.

    Tasks are drawn from the iterable only as workers become free, so a lazy walk
    stays lazy. An exception raised by func is raised here.
    """
    # Imported here: scans too small for workers do not pay for multiprocessing.
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("fork")
    pending = iter(tasks)
    conns: list[Connection] = []
    procs = []
    try:
        for _ in range(workers):
            here, there = context.Pipe()
            proc = context.Process(
                target=_serve, args=(there, func, initializer, initargs, os.getpid()), daemon=True
            )
            proc.start()
            there.close()
            conns.append(here)
            procs.append(proc)
        idle, busy = list(conns), {}
        done: dict[int, R] = {}
        sent = handed = 0
        exhausted = False
        while True:
            while idle and not exhausted:
                task = next(pending, _END)
                if task is _END:
                    exhausted = True
                    break
                conn = idle.pop()
                conn.send(task)
                busy[conn] = sent
                sent += 1
            while handed in done:
                yield done.pop(handed)
                handed += 1
            if not busy:
                return
            for conn in wait(list(busy)):
                done[busy.pop(conn)] = _answer(conn)
                idle.append(conn)
    except BaseException:  # a signal, or the caller stopped early: no waiting for workers
        for proc in procs:
            proc.kill()
        raise
    finally:
        for conn in conns:
            with contextlib.suppress(OSError):  # that worker is gone already
                conn.send(None)
            conn.close()
        for proc in procs:
            proc.join(JOIN_SECONDS)
            if proc.is_alive():
                proc.terminate()


_END: Any = object()


def _answer(conn: Connection) -> Any:
    try:
        ok, value = conn.recv()
    except EOFError:
        raise WorkerDied("a scan worker process ended unexpectedly") from None
    if not ok:
        raise value
    return value


def _serve(
    conn: Connection,
    func: Callable[[Any], Any],
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
    parent: int,
) -> None:
    """A worker: answer tasks until told to stop (None) or the parent goes away."""
    # Ctrl-C reaches the whole process group: the parent stops the scan and kills the
    # workers, instead of each printing a traceback.
    die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        try:
            answer = (True, func(task))
        except Exception as exc:  # handed to the parent, which raises it
            answer = (False, exc)
        conn.send(answer)
