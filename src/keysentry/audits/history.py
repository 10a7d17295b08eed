"""``keysentry history``: audit everything a repository holds, then say where each key lives.

Two phases, so that the expensive questions are asked only about what matters:

1. Scan: one ``git cat-file --batch`` stream of every object (or of what a range
   introduced). Each unique blob is scanned once, whatever number of commits and
   paths hold it; commit and tag messages are scanned too. Nothing else runs
   per object.
2. Attribute, only for blobs and messages that held a key: the commits that
   introduced each blob at each path (evil merges included), who and when, the
   refs that reach it, whether HEAD still holds it, whether a remote-tracking ref
   reaches it (already pushed), and whether any ref reaches it at all. Each blob
   is then scanned again at each of its paths, so that exposure and provider
   attribution see the real path.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from keysentry.audits.progress import INTERVAL, Progress
from keysentry.config import Config
from keysentry.engine.scanner import Scanner
from keysentry.model.finding import Finding, HistoryPlacement
from keysentry.model.report import Report, ScanError
from keysentry.model.target import (
    COMMIT_MESSAGE_PATH,
    TAG_MESSAGE_PATH,
    ScanTarget,
    SourceKind,
)
from keysentry.model.text import decode_path
from keysentry.sources.git_history import (
    REMOTE_PREFIX,
    Batch,
    GitObject,
    HistoryError,
    HistoryRepository,
    Introduction,
)
from keysentry.sources.git_objects import ObjectContent, read_batch

# Forked scanning processes where the platform forks (not Windows, not macOS's default).
_FORK = (
    multiprocessing.get_context("fork")
    if "fork" in multiprocessing.get_all_start_methods() and sys.platform == "linux"
    else None
)
BIG_OBJECT = 8 * 1024 * 1024  # larger blobs stream through the scanner in windows
REFS_LISTED = 1000  # refs listed per finding; refs_total says how many there are
SHALLOW_NOTE = (
    "history truncated: this is a shallow clone, so commits older than its boundary"
    " were not audited (`git fetch --unshallow` fetches them)"
)
_IDENTITY = re.compile(rb"^(author|tagger) (.*) <([^>]*)> (\d+) ([+-]\d{4})$", re.M)


@dataclass
class _Hit:
    """An object whose content held a key in the scan phase."""

    oid: str
    kind: str  # blob, commit or tag
    findings: list[Finding]
    size: int = 0
    header: bytes = b""  # commit or tag headers (author, tagger, object)
    paths: dict[bytes, list[Introduction]] = field(default_factory=dict)


def audit(
    repo: str | Path,
    config: Config,
    report: Report | None = None,
    *,
    since: str | None = None,
    rev_range: str | None = None,
    progress: bool = False,
) -> Report:
    """Audit a repository's whole history (or one range of it) for keys.

    repo: a directory in the repository (work tree or bare; parents are searched).
    config: exclusions and allowed fingerprints (``exclude`` globs match blob paths).
    report: findings, errors, notes and stats are added to it (a new one if None).
    since: audit only what ``SINCE..HEAD`` introduced.
    rev_range: audit only what ``BASE..HEAD`` (any rev-list range) introduced.
    progress: draw a progress line on stderr (callers pass True only for a terminal).

    Each finding's ``source`` is ``blob``, ``commit-message`` or ``tag-message`` and its
    ``history`` (a HistoryPlacement) says where it sits: the first commit that
    introduced the key at that path (None for a blob no commit holds), every such
    commit, author and date, the refs that reach it (at most 1000, with the total),
    whether HEAD holds it, whether a remote-tracking ref reaches it (pushed), whether
    any ref does (False for reflog-only and dangling objects), and the blob. Problems
    are added to ``report.errors`` (a path that is no repository, a bad revision,
    missing objects) and ``report.notes`` (a shallow clone); the audit goes on past
    everything but the first.
    """
    report = report if report is not None else Report()
    where = decode_path(os.path.abspath(repo))
    try:
        repository = HistoryRepository(repo)
        spec = f"{since}..HEAD" if since is not None else rev_range
        revisions = repository.verify_range(spec) if spec is not None else None
        if repository.is_shallow():
            report.notes.append(SHALLOW_NOTE)
    except HistoryError as exc:
        report.errors.append(ScanError(where, str(exc)))
        return report
    _Audit(repository, config, report, where, revisions, progress).run()
    return report


class _Audit:
    def __init__(
        self,
        repo: HistoryRepository,
        config: Config,
        report: Report,
        where: str,
        revisions: list[str] | None,
        progress: bool,
    ) -> None:
        self.repo = repo
        self.config = config
        self.report = report
        self.where = where
        self.revisions = revisions
        self.progress = progress
        self.hits: dict[str, _Hit] = {}
        self.commits: list[bytes] = []
        self.missing = 0  # named by the stream (a range) as missing
        self.unlisted = 0  # named by commits and trees, absent from the store

    def run(self) -> None:
        missing_check = None
        if self.revisions is None:
            missing_check = threading.Thread(target=self._count_missing, daemon=True)
            missing_check.start()
        try:
            self._scan()
        except (HistoryError, EOFError, OSError) as exc:
            self.report.errors.append(ScanError(self.where, f"reading objects failed: {exc}"))
        if missing_check is not None:
            missing_check.join()
        missing = self.missing + self.unlisted
        if missing:
            self.report.stats["objects_missing"] += missing
            self.report.errors.append(
                ScanError(
                    self.where,
                    f"{missing} object(s) missing from the object store (a partial clone"
                    " or a damaged copy); they were not scanned",
                )
            )
        if self.hits:
            try:
                self._attribute()
            except HistoryError as exc:
                self.report.errors.append(ScanError(self.where, f"attributing findings: {exc}"))

    def _count_missing(self) -> None:
        with contextlib.suppress(HistoryError):
            self.unlisted = self.repo.count_missing()

    # --- phase 1: every object once --------------------------------------------------

    def _scan(self) -> None:
        streams = 1 if self.revisions is not None else max(1, min(os.cpu_count() or 1, 4))
        with self.repo.objects(self.revisions, streams) as batch:
            listed = batch.listed
            shown = Progress(self.progress, len(listed) if listed is not None else 0)
            if len(batch.streams) > 1 and _FORK is not None:
                results = self._scan_forked(batch, shown)
            else:
                results = self._scan_threaded(batch, shown)
            shown.close()
        stats = self.report.stats
        for part in results:
            if part.failure is not None:
                raise HistoryError(part.failure)
            self.hits.update(part.hits)
            self.commits.extend(part.commits)
            self.missing += part.missing
            stats.update(part.stats)
            self.report.errors.extend(part.problems)
            self.report.notes.extend(part.notes)

    def _scan_threaded(self, batch: Batch, shown: Progress) -> list[_StreamScan]:
        parts = [_StreamScan(self.config, read_batch(stream)) for stream in batch.streams]
        threads = [threading.Thread(target=part.run, daemon=True) for part in parts]
        batch.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(INTERVAL)
                shown.update(*_totals(parts))
        shown.update(*_totals(parts), force=True)
        return parts

    def _scan_forked(self, batch: Batch, shown: Progress) -> list[_StreamScan]:
        """One process per stream: the scan is Python, and threads would share one GIL."""
        assert _FORK is not None
        counters = _FORK.Array("q", 3 * len(batch.streams), lock=False)
        workers = []
        for index, stream in enumerate(batch.streams):
            receiver, sender = _FORK.Pipe(duplex=False)
            worker = _FORK.Process(
                target=_scan_in_child,
                args=(self.config, stream, batch.request_fds, sender, counters, index),
                daemon=True,
            )
            worker.start()
            sender.close()
            workers.append((worker, receiver))
        batch.start()  # only now: the children must not hold git's request pipes open

        def totals() -> tuple[int, int, int]:
            return (sum(counters[0::3]), sum(counters[1::3]), sum(counters[2::3]))

        results = []
        for worker, receiver in workers:
            while not receiver.poll(INTERVAL):
                shown.update(*totals())
                if not worker.is_alive() and not receiver.poll():
                    break
            try:
                results.append(receiver.recv())
            except EOFError:
                failed = _StreamScan(self.config, iter(()))
                failed.failure = f"a scanning process stopped (exit code {worker.exitcode})"
                results.append(failed)
            worker.join()
        shown.update(*totals(), force=True)
        return results

    # --- phase 2: where the keys live ------------------------------------------------

    def _attribute(self) -> None:
        blobs = {oid for oid, hit in self.hits.items() if hit.kind == "blob"}
        intros = self.repo.introductions(
            blobs, self.commits if self.revisions is None else None, self.revisions
        )
        for oid in blobs:
            by_path: dict[bytes, list[Introduction]] = defaultdict(list)
            for intro in intros.get(oid, []):
                by_path[intro.path].append(intro)
            self.hits[oid].paths = dict(by_path)
        unplaced = {oid for oid in blobs if not self.hits[oid].paths}
        for oid, paths in self.repo.index_paths(unplaced).items():
            self.hits[oid].paths = {path: [] for path in paths}
        tips = self.repo.ref_tips()
        targets = [i.commit for h in self.hits.values() for v in h.paths.values() for i in v]
        targets += [oid for oid, hit in self.hits.items() if hit.kind == "commit"]
        reached = self.repo.reaching_refs(targets, tips)
        head = self.repo.head_blobs(p for h in self.hits.values() for p in h.paths)
        keys_in = {oid: {f.fingerprint for f in hit.findings} for oid, hit in self.hits.items()}
        named: dict[str, set[str]] = defaultdict(set)  # a ref naming a blob or tag directly
        for tip in tips:
            named[tip.oid].add(tip.name)
            named[tip.peeled].add(tip.name)
        self._blob_findings(reached, head, keys_in, named)
        for hit in self.hits.values():
            if hit.kind != "blob":
                self._message_findings(hit, reached, named)

    def _blob_findings(
        self,
        reached: dict[str, list[str]],
        head: dict[bytes, str],
        keys_in: dict[str, set[str]],
        named: dict[str, set[str]],
    ) -> None:
        places = [
            (hit, path)
            for hit in self.hits.values()
            if hit.kind == "blob"
            for path in (hit.paths or {b"": []})
            if not (path and self.config.is_excluded(path.decode("utf-8", "surrogateescape")))
        ]
        scratch = Report()
        scanner = Scanner(self.config, scratch)
        contents = self.repo.blobs(hit.oid for hit, _ in places)
        for (hit, path), (_, content) in zip(places, contents, strict=False):
            shown = decode_path(path) if path else f"(blob {hit.oid})"
            target = ScanTarget(shown, SourceKind.BLOB)
            if hit.size <= BIG_OBJECT:
                found = scanner.scan_bytes(content.read(), target)
            else:
                found = scanner.scan_stream(content, target)
            introduced = hit.paths.get(path, [])
            commits = list(dict.fromkeys(i.commit for i in introduced))
            refs = {r for c in commits for r in reached.get(c, [])}
            refs |= named.get(hit.oid, set())
            head_blob = head.get(path) if path else None
            first = introduced[0] if introduced else None
            for finding in found:
                in_head = head_blob is not None and finding.fingerprint in keys_in.get(
                    head_blob, set()
                )
                finding.history = _placement(first, commits, refs, in_head, hit.oid)
                self.report.findings.append(finding)
        contents.close()

    def _message_findings(
        self, hit: _Hit, reached: dict[str, list[str]], named: dict[str, set[str]]
    ) -> None:
        identity = _IDENTITY.search(hit.header)
        author = date = None
        if identity is not None:
            name, email = identity.group(2), identity.group(3)
            author = f"{name.decode('utf-8', 'replace')} <{email.decode('utf-8', 'replace')}>"
            date = _iso_date(int(identity.group(4)), identity.group(5).decode())
        if hit.kind == "commit":
            refs = set(reached.get(hit.oid, []))
            in_head = "HEAD" in refs
            commit: str | None = hit.oid
            path = COMMIT_MESSAGE_PATH
        else:
            refs = set(named.get(hit.oid, set()))
            in_head = False
            target = re.search(rb"^object ([0-9a-f]{40,64})$", hit.header, re.M)
            commit = target.group(1).decode() if target else None
            path = TAG_MESSAGE_PATH
        for finding in hit.findings:
            finding.path = path
            placed = _placement(None, [commit] if commit else [], refs, in_head, None)
            tag = hit.oid if hit.kind == "tag" else None
            finding.history = replace(placed, author=author, date=date, tag=tag)
            self.report.findings.append(finding)


class _StreamScan:
    """Scans one object stream (run in its own thread; one per git process)."""

    def __init__(self, config: Config, reader: Iterator[tuple[GitObject, ObjectContent]]) -> None:
        self.scratch = Report()
        self.scanner = Scanner(config, self.scratch)
        self.reader = reader
        self.hits: dict[str, _Hit] = {}
        self.commits: list[bytes] = []
        self.stats: Counter[str] = Counter()
        self.done = self.nbytes = self.missing = 0
        self.failure: str | None = None
        self.problems: list[ScanError] = []  # blobs not fully scanned (bombs, corrupt archives)
        self.notes: list[str] = []

    def run(self, counters: Any = None, index: int = 0) -> None:
        try:
            for obj, content in self.reader:
                self._object(obj, content)
                if counters is not None and self.done % 64 == 0:
                    counters[3 * index : 3 * index + 3] = _totals([self])
        except (HistoryError, EOFError, OSError) as exc:
            self.failure = str(exc) or type(exc).__name__
        if counters is not None:
            counters[3 * index : 3 * index + 3] = _totals([self])
        for name in ("suppressed_inline", "suppressed_allowlist"):
            if self.scratch.stats[name]:
                self.stats[name] += self.scratch.stats[name]

    def _object(self, obj: GitObject, content: ObjectContent) -> None:
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
                self.hits[obj.oid] = _Hit(obj.oid, "blob", found, obj.size)
        elif obj.kind in ("commit", "tag"):
            header, _, message = content.read().partition(b"\n\n")
            source = SourceKind.COMMIT_MESSAGE if obj.kind == "commit" else SourceKind.TAG_MESSAGE
            found = self.scanner.scan_bytes(message, ScanTarget("", source))
            self.stats[f"{obj.kind}s_scanned"] += 1
            if obj.kind == "commit":
                self.commits.append(obj.oid.encode())
            if found:
                self.hits[obj.oid] = _Hit(obj.oid, obj.kind, found, 0, header)
        elif obj.kind == "missing":
            self.missing += 1


def _scan_in_child(
    config: Config,
    stream: BinaryIO,
    request_fds: list[int],
    sender: Any,
    counters: Any,
    index: int,
) -> None:
    """A forked scanning process: read one stream, send back what held keys."""
    for fd in request_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    part = _StreamScan(config, read_batch(stream))
    part.run(counters, index)
    part.reader = iter(())  # a generator over a stream cannot be pickled
    part.scanner = None  # type: ignore[assignment]
    part.scratch = Report()
    sender.send(part)
    sender.close()


def _totals(parts: list[_StreamScan]) -> tuple[int, int, int]:
    return (
        sum(p.done for p in parts),
        sum(p.nbytes for p in parts),
        sum(len(p.scratch.findings) for p in parts),
    )


def _placement(
    first: Introduction | None,
    commits: list[str],
    refs: set[str],
    in_head: bool,
    blob: str | None,
) -> HistoryPlacement:
    listed = sorted(refs - {"HEAD"}, key=_ref_rank)
    return HistoryPlacement(
        commit=first.commit if first is not None else (commits[0] if commits else None),
        commits=commits,
        author=first.author if first is not None else None,
        date=first.date if first is not None else None,
        refs=listed[:REFS_LISTED],
        refs_total=len(listed),
        in_head=in_head,
        pushed=any(r.startswith(REMOTE_PREFIX) for r in refs),
        reachable=bool(refs),
        blob=blob,
        merge=first is not None and first.merge,
    )


def _ref_rank(name: str) -> tuple[int, str]:
    order = ("refs/remotes/", "refs/heads/", "refs/tags/")
    rank = next((i for i, prefix in enumerate(order) if name.startswith(prefix)), len(order))
    return rank, name


def _iso_date(seconds: int, offset: str) -> str:
    from datetime import datetime, timedelta, timezone

    sign = -1 if offset.startswith("-") else 1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    return datetime.fromtimestamp(seconds, zone).isoformat()
