"""Phase 1 of a history audit: every object once, in one or more ``git cat-file`` streams.

Each stream is scanned in a thread, or, where the platform forks, in a process of its
own (the scan is Python, and threads would share one GIL); what held keys comes back as
``Hit`` records for phase 2 (audits/history.py) to place.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from keysentry.audits.pool import die_with_parent
from keysentry.audits.progress import INTERVAL, Progress
from keysentry.config import Config
from keysentry.engine.scanner import Scanner
from keysentry.model.finding import Finding
from keysentry.model.report import Report, ScanError
from keysentry.model.target import ScanTarget, SourceKind
from keysentry.sources.git_batch import UNREADABLE
from keysentry.sources.git_history import Batch, GitObject, HistoryError, Introduction
from keysentry.sources.git_links import Links
from keysentry.sources.git_objects import ObjectContent

# Forked scanning processes where the platform forks (not Windows, not macOS's default).
FORK = (
    multiprocessing.get_context("fork")
    if "fork" in multiprocessing.get_all_start_methods() and sys.platform == "linux"
    else None
)
BIG_OBJECT = 8 * 1024 * 1024  # larger blobs stream through the scanner in windows


@dataclass
class Hit:
    """An object whose content held a key in the scan phase."""

    oid: str
    kind: str  # blob, commit or tag
    findings: list[Finding]
    size: int = 0
    header: bytes = b""  # commit or tag headers (author, tagger, object)
    paths: dict[bytes, list[Introduction]] = field(default_factory=dict)


class StreamScan:
    """Scans one object stream (run in its own thread; one per git process)."""

    def __init__(
        self,
        config: Config,
        reader: Iterator[tuple[GitObject, ObjectContent]],
        links: Links | None = None,
    ) -> None:
        self.links = links  # follow what each object names (a stream with its trees)
        self.scratch = Report()
        self.scanner = Scanner(config, self.scratch)
        self.reader = reader
        self.hits: dict[str, Hit] = {}
        self.commits: list[bytes] = []
        self.stats: Counter[str] = Counter()
        self.done = self.nbytes = self.missing = 0
        self.failure: str | None = None
        self.problems: list[ScanError] = []  # blobs not fully scanned (bombs, corrupt archives)
        self.notes: list[str] = []

    def portable(self) -> StreamScan:
        """Itself, ready to be pickled (to a parent process, or from a Dask worker)."""
        self.reader = iter(())  # a generator over a stream cannot be pickled
        self.scanner = None  # type: ignore[assignment]
        self.links = None
        self.scratch = Report()
        return self

    def run(self, counters: Any = None, index: int = 0) -> None:
        try:
            for obj, content in self.reader:
                with contextlib.suppress(EOFError):  # git stopped in it: the reader says so next
                    self._object(obj, content)
                if counters is not None and self.done % 64 == 0:
                    counters[3 * index : 3 * index + 3] = totals([self])
        except (HistoryError, EOFError, OSError, ValueError) as exc:  # ValueError: a stream
            self.failure = str(exc) or type(exc).__name__  # closed under it (interrupted)
        if counters is not None:
            counters[3 * index : 3 * index + 3] = totals([self])
        for name in ("suppressed_inline", "suppressed_allowlist"):
            if self.scratch.stats[name]:
                self.stats[name] += self.scratch.stats[name]

    def _object(self, obj: GitObject, content: ObjectContent) -> None:
        if self.links is not None and obj.kind in ("blob", "tree"):
            self.links.add(obj.oid, obj.kind, content.read() if obj.kind == "tree" else b"")
        if obj.kind in ("blob", "commit", "tag"):
            self.done += 1
            self.stats["objects_scanned"] += 1
        if obj.kind == "blob":
            errors, notes = len(self.scratch.errors), len(self.scratch.notes)
            target = ScanTarget("", SourceKind.BLOB)
            if obj.size <= BIG_OBJECT:
                found = self.scanner.scan_bytes(content.read(), target)
            else:
                found = self.scanner.scan_stream(content, target)
            where = f"blob {obj.oid}"
            for error in self.scratch.errors[errors:]:  # the path inside the blob, if any
                self.problems.append(ScanError(where + error.path, error.message))
            self.notes.extend(f"{where}{note}" for note in self.scratch.notes[notes:])
            self.stats["blobs_scanned"] += 1
            self.stats["bytes_scanned"] += obj.size
            self.nbytes += obj.size
            if found:
                self.hits[obj.oid] = Hit(obj.oid, "blob", found, obj.size)
        elif obj.kind in ("commit", "tag"):
            header, _, message = content.read().partition(b"\n\n")
            if self.links is not None:
                self.links.add(obj.oid, obj.kind, header)
            source = SourceKind.COMMIT_MESSAGE if obj.kind == "commit" else SourceKind.TAG_MESSAGE
            found = self.scanner.scan_bytes(message, ScanTarget("", source))
            self.stats[f"{obj.kind}s_scanned"] += 1
            if obj.kind == "commit":
                self.commits.append(obj.oid.encode())
            if found:
                self.hits[obj.oid] = Hit(obj.oid, obj.kind, found, 0, header)
        elif obj.kind == "missing":
            self.missing += 1
        if obj.kind in ("missing", UNREADABLE) and self.links is not None:
            self.links.followed = False
        if obj.kind == UNREADABLE:
            self.problems.append(
                ScanError(
                    f"object {obj.oid}",
                    f"git cannot read this object (corrupt?), it was not scanned: {obj.problem}",
                )
            )


def scan_in_child(
    config: Config,
    reader: Iterator[tuple[GitObject, ObjectContent]],
    request_fds: list[int],
    sender: Any,
    counters: Any,
    index: int,
    parent: int,
) -> None:
    """A forked scanning process: read one stream, send back what held keys."""
    die_with_parent(parent)
    for fd in request_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    part = StreamScan(config, reader)
    part.run(counters, index)
    sender.send(part.portable())
    sender.close()


def totals(parts: list[StreamScan]) -> tuple[int, int, int]:
    return (
        sum(p.done for p in parts),
        sum(p.nbytes for p in parts),
        sum(len(p.scratch.findings) for p in parts),
    )


def scan_threaded(
    config: Config, batch: Batch, shown: Progress, links: bool = False
) -> list[StreamScan]:
    """links: follow what each object names (one stream that holds the trees)."""
    parts = [StreamScan(config, reader, Links() if links else None) for reader in batch.readers]
    if len(parts) == 1 and not shown.enabled:  # nothing to draw meanwhile: no thread
        batch.start()
        parts[0].run()
        return parts
    threads = [threading.Thread(target=part.run, daemon=True) for part in parts]
    batch.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(INTERVAL)
            shown.update(*totals(parts))
    shown.update(*totals(parts), force=True)
    return parts


def scan_forked(config: Config, batch: Batch, shown: Progress) -> list[StreamScan]:
    """One process per stream: the scan is Python, and threads would share one GIL."""
    assert FORK is not None
    counters = FORK.Array("q", 3 * len(batch.streams), lock=False)
    workers = []
    for index, reader in enumerate(batch.readers):
        receiver, sender = FORK.Pipe(duplex=False)
        worker = FORK.Process(
            target=scan_in_child,
            args=(config, reader, batch.request_fds, sender, counters, index, os.getpid()),
            daemon=True,
        )
        worker.start()
        sender.close()
        workers.append((worker, receiver))
    batch.start()  # only now: the children must not hold git's request pipes open

    def totals() -> tuple[int, int, int]:
        return (sum(counters[0::3]), sum(counters[1::3]), sum(counters[2::3]))

    try:
        results = [_result(config, proc, receiver, shown, totals) for proc, receiver in workers]
    except BaseException:  # a signal: the readers go first, so that git can end
        for proc, _ in workers:
            proc.kill()
        raise
    shown.update(*totals(), force=True)
    return results


def _result(config: Config, worker: Any, receiver: Any, shown: Progress, totals: Any) -> StreamScan:
    """What one forked reader sent back (a failure when it died without answering)."""
    while not receiver.poll(INTERVAL):
        shown.update(*totals())
        if not worker.is_alive() and not receiver.poll():
            break
    try:
        result: StreamScan = receiver.recv()
    except EOFError:
        result = StreamScan(config, iter(()))
        result.failure = f"a scanning process stopped (exit code {worker.exitcode})"
    worker.join()
    return result
