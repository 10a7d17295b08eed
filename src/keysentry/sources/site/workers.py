"""The crawl's workers: each takes one request at a time, fetches it, finds its links,
and scans its body when the crawl asks for it.

On Linux, when this process runs a single thread, the workers are forked processes
(``--concurrency`` of them): fetching, reading for links and scanning run on every
core at once, and a body never crosses a pipe, only what the crawl needs of it (its
links, its digest, its findings). Elsewhere, or when this process runs other threads
(forking them could copy a held lock), they are threads of this process, scanning
one at a time. Either way each worker talks to the crawl over a pipe of its own:

    crawl -> worker   Request                 (None: stop)
    worker -> crawl   Ask(target)             may a redirect go there?  <- FetchError | None
    worker -> crawl   Visited                 what came, its links      <- scan it? (bool)
    worker -> crawl   Scanned(result)         the scan, when asked for
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from keysentry.audits import pool
from keysentry.sources.site.fetch import Fetcher, FetchError
from keysentry.sources.site.visit import Fetched, Request, visit

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

T = TypeVar("T")
Scan = Callable[[Fetched, bytes], T]  # a body's scan, run by the worker that holds it
JOIN_SECONDS = 5.0
# glibc's mallopt(3) parameters, and what a forked worker sets them to
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_HEAP_BUFFERS_UP_TO = 256 << 20  # past --max-response-bytes' default (64M), a body and its copies
_KEEP_FREED = 512 << 20


@dataclass(frozen=True)
class Ask:
    """May the redirect hop to target be fetched? (the crawl answers FetchError | None)"""

    target: str


@dataclass(frozen=True)
class Scanned(Generic[T]):
    result: T


@dataclass(frozen=True)
class Crashed:
    """A worker's unexpected exception, as text (not every exception can be pickled)."""

    trace: str


class WorkerFailed(RuntimeError):
    """A worker raised what it should not have, or ended without answering."""


def can_fork() -> bool:
    return sys.platform.startswith("linux") and threading.active_count() == 1


def _keep_freed_memory() -> None:
    """In a forked worker: large buffers (a body, the scanner's copies of it) come from
    the heap, and stay in it once freed, for the next response. Otherwise glibc maps
    each one afresh and unmaps it when freed, and every page of it costs a fault and
    the kernel's zeroing: on the 100 MB bench site, 111,000 faults with four workers,
    84,000 with this (0.1 s of CPU). The heap lasts as long as the worker: one crawl."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc: its defaults stay
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, _HEAP_BUFFERS_UP_TO)
        libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_FREED)


def _serve(
    conn: Connection, fetcher: Fetcher, scan: Scan[Any], probe_maps: bool, parent: int | None
) -> None:
    """A worker: handle requests until told to stop (None) or the crawl goes away."""
    if parent is not None:
        pool.die_with_parent(parent)
        _keep_freed_memory()
    try:
        while (request := conn.recv()) is not None:
            try:
                _handle(conn, fetcher, scan, probe_maps, request)
            except (EOFError, OSError):  # the crawl closed its end: it is over
                return
            except Exception:
                conn.send(Crashed(traceback.format_exc()))
    except (EOFError, OSError):
        return
    finally:
        conn.close()  # the crawl sees EOF, whatever ended this worker


def _handle(
    conn: Connection, fetcher: Fetcher, scan: Scan[Any], probe_maps: bool, request: Request
) -> None:
    def check(target: str) -> FetchError | None:
        conn.send(Ask(target))
        answer: FetchError | None = conn.recv()
        return answer

    visited, body = visit(fetcher, request, check, probe_maps)
    conn.send(visited)
    if visited.kind is not None and conn.recv():
        conn.send(Scanned(scan(visited.fetched(), body)))


def _one_at_a_time(scan: Scan[T]) -> Scan[T]:
    lock = threading.Lock()

    def locked(fetched: Fetched, body: bytes) -> T:
        with lock:
            return scan(fetched, body)

    return locked


class Workers:
    """``count`` workers, started at once, each with its end of a pipe."""

    def __init__(self, count: int, fetcher: Fetcher, scan: Scan[Any], probe_maps: bool) -> None:
        self.forked = can_fork()
        self.conns: list[Connection] = []
        self._procs: list[Any] = []
        self._threads: list[threading.Thread] = []
        import multiprocessing  # only a crawl needs it

        context = multiprocessing.get_context("fork" if self.forked else None)
        if self.forked:  # a child would write out again what this process had buffered
            sys.stdout.flush()
            sys.stderr.flush()
        else:
            scan = _one_at_a_time(scan)  # the scanner is not shared between threads
        for _ in range(count):
            here, there = context.Pipe()
            if self.forked:
                args = (there, fetcher, scan, probe_maps, os.getpid())
                proc = context.Process(target=_serve, args=args, daemon=True)
                proc.start()
                there.close()
                self._procs.append(proc)
            else:
                args = (there, fetcher, scan, probe_maps, None)
                thread = threading.Thread(
                    target=_serve, args=args, daemon=True, name="keysentry-site"
                )
                thread.start()
                self._threads.append(thread)
            self.conns.append(here)

    @staticmethod
    def ready(conns: Iterable[Connection]) -> list[Connection]:
        """The workers, among conns, that have said something."""
        from multiprocessing.connection import wait

        return wait(list(conns))  # type: ignore[return-value]

    @staticmethod
    def receive(conn: Connection) -> Any:
        try:
            message = conn.recv()
        except EOFError:
            raise WorkerFailed("a crawl worker process ended unexpectedly") from None
        if isinstance(message, Crashed):
            raise WorkerFailed(f"a crawl worker failed:\n{message.trace}")
        return message

    def close(self, abort: bool) -> None:
        """Stop the workers: told to, or (abort) processes killed where they are. A thread
        cannot be: an idle one reads the stop, a busy one ends at its next word to the
        crawl (its pipe is closed), a fetch later at most."""
        if abort:
            for proc in self._procs:
                proc.kill()
        for conn in self.conns:
            with contextlib.suppress(OSError):
                if not (abort and self.forked):
                    conn.send(None)
            conn.close()
        for proc in self._procs:
            proc.join(JOIN_SECONDS)
            if proc.is_alive():
                proc.kill()
                proc.join()
