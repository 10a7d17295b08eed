"""Stopping on a signal: what was found until then is reported, and the exit code is 2.

SIGINT raises KeyboardInterrupt already; SIGTERM and SIGHUP (a CI job cancelled, a
terminal closed) are made to raise :class:`Interrupted` too, so the same clean-up runs:
worker processes are killed (they die with this process anyway: audits/pool.py), git
processes see their pipes close, and the partial report is written.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from keysentry.model.report import Report, ScanError

STOP_SIGNALS = ("SIGTERM", "SIGHUP")


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived; ``name`` says which."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def install() -> None:
    """SIGTERM and SIGHUP stop the command as Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for name in STOP_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _raise)


def reset_in_child() -> None:
    """In a forked worker: the parent decides when to stop; the worker is killed then."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in STOP_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


def signal_name(exc: KeyboardInterrupt) -> str:
    return exc.name if isinstance(exc, Interrupted) else "SIGINT"


@contextmanager
def reported(report: Report, where: str) -> Iterator[None]:
    """Run a scan into ``report``; a stop signal ends it with an error saying so."""
    try:
        yield
    except KeyboardInterrupt as exc:
        name = signal_name(exc)
        report.interrupted = name
        report.errors.append(
            ScanError(
                where,
                f"interrupted by {name}: the scan stopped before the end; what it had found"
                " until then is reported",
            )
        )
