"""Run ``keysentry org``'s audits in a forked child of the worker, one after another.

A task may hold several small repositories (audits/org_cluster.py batches them), so
one child audits them in turn and sends each result back as soon as it is done,
as a length-prefixed pickle through a pipe. The worker gives each repository its own
``timeout``: past it the child (in its own process group, with the git processes
under it) is killed, that repository is recorded as timed out, and a new child
takes the rest. A child that dies costs the repository it was on, not the others and
not the worker, and the worker's memory does not grow repository after repository.
Forking once per batch rather than once per repository is what makes small
repositories cheap (a fork of a worker costs tens of milliseconds).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import select
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

_CHUNK = 1 << 20
_LENGTH = 8  # bytes of each result's length prefix
_PR_SET_PDEATHSIG = 1  # prctl(2): the child is killed when the worker dies

Result = TypeVar("Result")
Job = Callable[[], Result]
# what to report for a job that did not finish: (its index, why) -> a result
Failed = Callable[[int, str], Result]


def run_forked(
    jobs: Sequence[Job[Result]], failed: Failed[Result], timeout: float | None
) -> list[Result]:
    """Each job's result, in order; a job that timed out or whose child died is failed()."""
    results: list[Result] = []
    while len(results) < len(jobs):
        results += _one_child(jobs[len(results) :], failed, timeout, len(results))
    return results


def _one_child(
    jobs: Sequence[Job[Result]], failed: Failed[Result], timeout: float | None, first: int
) -> list[Result]:
    """Results of a prefix of jobs (at least one, the last maybe failed) from one child."""
    receiver, sender = os.pipe()
    gc.freeze()  # the child's collections then leave the worker's objects (and pages) alone
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (coverage does not follow forks)
        os.close(receiver)
        _child(jobs, sender)
    os.close(sender)
    results: list[Result] = []
    buffer = bytearray()
    deadline = None if timeout is None else time.monotonic() + timeout
    timed_out = False
    try:
        while len(results) < len(jobs):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([receiver], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(receiver, _CHUNK)
            if not chunk:
                break
            buffer += chunk
            while len(buffer) >= _LENGTH:
                size = int.from_bytes(buffer[:_LENGTH], "big")
                if len(buffer) < _LENGTH + size:
                    break
                results.append(pickle.loads(bytes(buffer[_LENGTH : _LENGTH + size])))
                del buffer[: _LENGTH + size]
                deadline = None if timeout is None else time.monotonic() + timeout
    finally:
        os.close(receiver)
        if timed_out or len(results) < len(jobs):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if len(results) < len(jobs):
        if timed_out:
            why = f"timed out after {timeout:g} s (--timeout-per-repo); not audited"
        else:
            how = (
                f"signal {os.WTERMSIG(status)}"
                if os.WIFSIGNALED(status)
                else f"exit code {os.waitstatus_to_exitcode(status)}"
            )
            why = f"the audit process stopped ({how}); not audited"
        results.append(failed(first + len(results), why))
    return results


def _child(jobs: Sequence[Job[Result]], sender: int) -> None:  # pragma: no cover - the child
    code = 0
    try:
        os.setpgid(0, 0)
        _die_with_parent()
        for job in jobs:
            data = pickle.dumps(job(), pickle.HIGHEST_PROTOCOL)
            view = memoryview(len(data).to_bytes(_LENGTH, "big") + data)
            while view:
                view = view[os.write(sender, view[:_CHUNK]) :]
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
