"""``keysentry scan``: files, directories and stdin through the scanner into a report."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import chain

from keysentry.audits import pool
from keysentry.audits.bundle_origins import place_in_sources
from keysentry.config import Config
from keysentry.containers import image_layout
from keysentry.engine.layers import limits
from keysentry.engine.names import keys_in_path
from keysentry.engine.scanner import Scanner
from keysentry.model.key import KEY_PREFIX
from keysentry.model.report import Report, ScanError
from keysentry.model.target import STDIN_PATH, ScanTarget, SourceKind
from keysentry.model.text import escape_text
from keysentry.sources.files import (
    STDIN,
    FileEntry,
    WalkOptions,
    file_entries,
    open_entry,
    skipped_note,
    stdin_stream,
)

# Work is counted in bytes, each file adding FILE_COST for opening it and the calls
# around it. Below PARALLEL_MIN_WORK (about 50 ms on one core) starting workers
# costs more than it saves; a batch is what one worker takes at a time.
FILE_COST = 32 * 1024
PARALLEL_MIN_WORK = 64 * 1024 * 1024
BATCH_WORK = 2 * 1024 * 1024
BATCH_FILES = 256

# A walked file, and the walk errors (unreadable folders) met just before it.
_Walked = tuple[list[ScanError], FileEntry]
_Sized = tuple[_Walked, int]  # and the work it adds: FILE_COST and its size


def scan_paths(
    paths: list[str], config: Config, report: Report | None = None, jobs: int | None = None
) -> Report:
    """Scan every file the paths name; unreadable ones are recorded and skipped.

    Large scans run in up to ``jobs`` worker processes (default: one per core);
    the report is the same, in the same order, as with ``jobs=1``.
    """
    scanner = Scanner(config, report or Report())
    if STDIN in paths:
        scanner.scan_stream(stdin_stream(), ScanTarget(STDIN_PATH, SourceKind.STDIN))
        scanner.report.stats["files_scanned"] += 1
    walk = _Walk(paths, config)
    workers = pool.available_workers(jobs)
    head: list[_Sized] = []
    if workers > 1:
        work = 0
        sized = _sized(walk)
        for item in sized:
            head.append(item)
            work += item[1]
            if work >= PARALLEL_MIN_WORK:
                _scan_in_pool(chain(head, sized), scanner, workers)
                break
        else:
            workers = 1
    if workers == 1:
        for errors, entry in chain((walked for walked, _ in head), walk):
            scanner.report.errors.extend(errors)
            scan_entry(scanner, entry)
    scanner.report.errors.extend(walk.new_errors())
    scanner.report.stats.update(walk.report.stats)
    scanner.report.notes.extend(walk.report.notes)
    if note := skipped_note(walk.options.skipped):
        scanner.report.notes.append(note)
    _one_per_name(scanner.report)
    return scanner.report


def _one_per_name(report: Report) -> None:
    """A folder named with a key was reported with each of its files: keep the first."""
    seen: set[tuple[str, str, int]] = set()
    kept = []
    for finding in report.findings:
        if finding.source is SourceKind.NAME:
            place = (finding.path, finding.fingerprint, finding.column)
            if place in seen:
                continue
            seen.add(place)
        kept.append(finding)
    report.findings[:] = kept


def scan_entry(scanner: Scanner, entry: FileEntry) -> None:
    """Scan one file into the scanner's report; an unreadable file becomes an error.

    A key in the file's name, or in a folder's on its path, is a finding too (folders
    are checked with each of their files; scan_paths keeps one finding per folder)."""
    target = ScanTarget(entry.display, fs_path=entry.fs_path)
    if KEY_PREFIX in entry.fs_path:
        raw = os.fsdecode(entry.fs_path)
        scanner.report.findings.extend(keys_in_path(scanner.config, raw, entry.display, target))
    first = len(scanner.report.findings)
    started = time.perf_counter()
    try:
        with open_entry(entry) as stream:
            scanner.scan_stream(stream, target)
    except OSError as exc:
        scanner.report.errors.append(ScanError(entry.display, exc.strerror or str(exc)))
        return
    report = scanner.report
    report.stats["files_scanned"] += 1
    if scanner.config.decode:  # a layer or the index of an OCI layout folder
        image_layout.after_scan(report, first, entry.fs_path, limits(scanner.config))
    if len(report.findings) > first:
        place_in_sources(report.findings[first:], entry.fs_path)
    if scanner.config.timings:
        _print_timing(entry, time.perf_counter() - started)


def _print_timing(entry: FileEntry, seconds: float) -> None:
    """-vv: one line per file on stderr (from whichever worker scanned it)."""
    line = f"keysentry: timing: {escape_text(entry.display)}: {seconds * 1000:.1f} ms"
    sys.stderr.write(f"{line} ({_size(entry)} bytes)\n")
    sys.stderr.flush()


class _Walk:
    """The files to scan, each with the walk errors met just before it (kept in place)."""

    def __init__(self, paths: list[str], config: Config) -> None:
        self.report = Report()
        self.options = WalkOptions(include_deps=config.include_deps)
        self._entries = file_entries(paths, config, self.report, self.options)
        self._seen = 0

    def new_errors(self) -> list[ScanError]:
        errors = self.report.errors[self._seen :]
        self._seen = len(self.report.errors)
        return errors

    def __iter__(self) -> Iterator[_Walked]:
        for entry in self._entries:
            yield self.new_errors(), entry


def _size(entry: FileEntry) -> int:
    try:
        return os.stat(entry.fs_path).st_size
    except OSError:
        return 0  # the scan reports it


def _sized(walked: Iterable[_Walked]) -> Iterator[_Sized]:
    """Each walked file with its work (one stat per file)."""
    for item in walked:
        yield item, FILE_COST + _size(item[1])


def _batches(sized: Iterable[_Sized]) -> Iterator[list[_Walked]]:
    batch: list[_Walked] = []
    work = 0
    for item, cost in sized:
        batch.append(item)
        work += cost
        if work >= BATCH_WORK or len(batch) >= BATCH_FILES:
            yield batch
            batch, work = [], 0
    if batch:
        yield batch


_worker_scanner: Scanner | None = None


def _init_worker(scanner: Scanner) -> None:
    global _worker_scanner
    _worker_scanner = scanner


def _scan_batch(entries: list[FileEntry]) -> tuple[Report, list[tuple[int, int]]]:
    """In a worker: scan files; the report, and where each file's findings and errors end."""
    assert _worker_scanner is not None
    scanner = dataclasses.replace(_worker_scanner, report=Report())
    ends = []
    for entry in entries:
        scan_entry(scanner, entry)
        ends.append((len(scanner.report.findings), len(scanner.report.errors)))
    return scanner.report, ends


def _scan_in_pool(walked: Iterator[_Sized], scanner: Scanner, workers: int) -> None:
    """Batches of files to workers; their reports merged as one process would have made them."""
    report = scanner.report
    sent: deque[list[_Walked]] = deque()

    def tasks() -> Iterator[list[FileEntry]]:
        for batch in _batches(walked):
            sent.append(batch)
            yield [entry for _, entry in batch]

    results = pool.ordered_map(_scan_batch, tasks(), workers, _init_worker, (scanner,))
    for part, ends in results:
        found = failed = 0
        for (walk_errors, _), (found_to, failed_to) in zip(sent.popleft(), ends, strict=True):
            report.errors.extend(walk_errors)
            report.findings.extend(part.findings[found:found_to])
            report.errors.extend(part.errors[failed:failed_to])
            found, failed = found_to, failed_to
        report.stats.update(part.stats)
        report.notes.extend(part.notes)
