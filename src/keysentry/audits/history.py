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
import os
import re
import threading
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from keysentry.audits.dates import DateWindow
from keysentry.audits.history_placement import identity, placement
from keysentry.audits.history_scan import (
    BIG_OBJECT,
    FORK,
    Hit,
    StreamScan,
    scan_forked,
    scan_threaded,
)
from keysentry.audits.progress import Progress
from keysentry.config import Config
from keysentry.engine.names import keys_in_name, keys_in_path
from keysentry.engine.scanner import Scanner
from keysentry.model.finding import HistoryPlacement
from keysentry.model.report import Report, ScanError
from keysentry.model.target import (
    COMMIT_MESSAGE_PATH,
    TAG_MESSAGE_PATH,
    ScanTarget,
    SourceKind,
)
from keysentry.model.text import decode_path
from keysentry.sources.git import Repository
from keysentry.sources.git_history import (
    HistoryError,
    HistoryRepository,
    Introduction,
)

SHALLOW_NOTE = (
    "history truncated: this is a shallow clone, so commits older than its boundary"
    " were not audited (`git fetch --unshallow` fetches them)"
)


def audit(
    repo: str | Path,
    config: Config,
    report: Report | None = None,
    *,
    since: str | None = None,
    rev_range: str | None = None,
    progress: bool = False,
    dates: DateWindow | None = None,
    streams: int | None = None,
    opened: Repository | None = None,
    scanned: list[StreamScan] | None = None,
) -> Report:
    """Audit a repository's whole history (or one range of it) for keys.

    repo: a directory in the repository (work tree or bare; parents are searched).
    config: exclusions and allowed fingerprints (``exclude`` globs match blob paths).
    report: findings, errors, notes and stats are added to it (a new one if None).
    since: audit only what ``SINCE..HEAD`` introduced.
    rev_range: audit only what ``BASE..HEAD`` (any rev-list range) introduced.
    progress: draw a progress line on stderr (callers pass True only for a terminal).
    dates: audit only commits in this commit-date window (of the range, else of every ref)
    and the objects they hold.
    streams: object streams scanned in parallel (default: one per core, at most 4).
    opened: what ``Git.repository()`` said about repo, when the caller asked already.
    scanned: phase 1 done elsewhere (the parts of a split repository, audits/org_split.py):
    every object of the store was scanned by these; only phase 2 runs here.

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
        repository = HistoryRepository(repo, opened)
        spec = f"{since}..HEAD" if since is not None else rev_range
        revisions = repository.verify_range(spec) if spec is not None else None
        if dates is not None:
            revisions = dates.revisions(revisions, repository.run)
        if repository.is_shallow():
            report.notes.append(SHALLOW_NOTE)
    except HistoryError as exc:
        report.errors.append(ScanError(where, str(exc)))
        return report
    audit = _HistoryAudit(repository, config, report, where, revisions, progress, streams)
    audit.run(scanned if revisions is None else None)
    return report


class _HistoryAudit:
    def __init__(
        self,
        repo: HistoryRepository,
        config: Config,
        report: Report,
        where: str,
        revisions: list[str] | None,
        progress: bool,
        streams: int | None = None,
    ) -> None:
        self.repo = repo
        self.streams = streams
        self.config = config
        self.report = report
        self.where = where
        self.revisions = revisions
        self.progress = progress
        self.hits: dict[str, Hit] = {}
        self.commits: list[bytes] = []
        self.missing = 0  # named by the stream (a range) as missing
        self.unlisted = 0  # named by commits and trees, absent from the store

    def run(self, scanned: list[StreamScan] | None = None) -> None:
        streams = self.streams or max(1, min(os.cpu_count() or 1, 4))
        streams = 1 if self.revisions is not None else streams
        # a small store read in one stream tells itself that nothing is missing
        starts = None
        if self.revisions is None and scanned is None and streams == 1:
            starts = self.repo.link_starts()
        missing_check = None
        if self.revisions is None and starts is None:
            missing_check = threading.Thread(target=self._count_missing, daemon=True)
            missing_check.start()
        followed = False
        try:
            if scanned is not None:
                self.merge(scanned)
            else:
                followed = self._scan(streams, starts)
        except (HistoryError, EOFError, OSError) as exc:
            self.report.errors.append(ScanError(self.where, f"reading objects failed: {exc}"))
        if missing_check is not None:
            missing_check.join()
        elif self.revisions is None and not followed:
            self._count_missing()  # git counts what the stream could not rule out
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
        if self.revisions is None:
            self._ref_names()
        if self.hits:
            placed = len(self.report.findings)
            try:
                self._attribute()
            except HistoryError as exc:
                del self.report.findings[placed:]
                self._unattributed(f"attributing findings: {exc}")

    def _count_missing(self) -> None:
        with contextlib.suppress(HistoryError):
            self.unlisted = self.repo.count_missing()

    # --- phase 1: every object once --------------------------------------------------

    def _scan(self, streams: int, starts: list[bytes] | None) -> bool:
        """Phase 1; whether the stream showed that no object is missing (starts: what
        refs, HEAD and reflogs name, when the stream is to follow its objects' links)."""
        trees = starts is not None
        results, one_pass = self._read(streams, one_pass=True, trees=trees)
        if one_pass and any(part.failure is not None for part in results):
            results, _ = self._read(streams, one_pass=False)  # goes on past what git cannot read
            trees = False  # that pass has no trees
        self.merge(results)
        links = [part.links for part in results]
        whole = links[0] if trees and starts is not None and len(links) == 1 else None
        if whole is None or not whole.none_missing(starts or []):
            return False
        self.repo.use_graph(whole)  # the store is whole: phase 2 asks git less
        return True

    def _read(
        self, streams: int, one_pass: bool, trees: bool = False
    ) -> tuple[list[StreamScan], bool]:
        with self.repo.objects(self.revisions, streams, one_pass, trees) as batch:
            listed = batch.listed
            shown = Progress(self.progress, len(listed) if listed is not None else 0)
            if len(batch.streams) > 1 and FORK is not None:
                results = scan_forked(self.config, batch, shown)
            else:
                results = scan_threaded(self.config, batch, shown, links=trees)
            shown.close()
        return results, batch.one_pass

    def merge(self, results: list[StreamScan]) -> None:
        """What the object streams found (here, or in parts elsewhere: audits/org_split.py)."""
        stats = self.report.stats
        for part in results:
            if part.failure is not None:  # what it read before is kept
                self.report.errors.append(
                    ScanError(self.where, f"reading objects failed: {part.failure}")
                )
            self.hits.update(part.hits)
            self.commits.extend(part.commits)
            self.missing += part.missing
            stats.update(part.stats)
            self.report.errors.extend(part.problems)
            self.report.notes.extend(part.notes)

    # --- phase 2: where the keys live ------------------------------------------------

    def _unattributed(self, why: str) -> None:
        """Where the keys live could not be worked out: report them as the scan found them."""
        for hit in self.hits.values():
            for finding in hit.findings:
                if hit.kind == "blob":
                    finding.path = f"(blob {hit.oid})"
                    placed = HistoryPlacement(blob=hit.oid, unattributed=why)
                else:
                    finding.path = COMMIT_MESSAGE_PATH if hit.kind == "commit" else TAG_MESSAGE_PATH
                    commit = hit.oid if hit.kind == "commit" else None
                    tag = hit.oid if hit.kind == "tag" else None
                    placed = HistoryPlacement(commit=commit, tag=tag, unattributed=why)
                finding.history = placed
                self.report.findings.append(finding)
        count = sum(len(hit.findings) for hit in self.hits.values())
        self.report.errors.append(
            ScanError(
                self.where,
                f"{why}; {count} finding(s) are reported without their commits, paths and refs",
            )
        )

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

    def _ref_names(self) -> None:
        """A branch or tag named with a key: a finding at that ref (names are listed
        without git where the ref files are plain; git's list places the findings)."""
        try:
            named = {
                raw
                for raw in self.repo.ref_names()
                if keys_in_name(self.config, raw, ScanTarget(decode_path(raw)))
            }
            tips = [tip for tip in self.repo.ref_tips() if tip.raw in named] if named else []
        except HistoryError as exc:
            self.report.errors.append(ScanError(self.where, f"listing refs: {exc}"))
            return
        for tip in tips:
            for finding in keys_in_name(self.config, tip.raw, ScanTarget(tip.name)):
                finding.history = HistoryPlacement(
                    commit=tip.peeled, commits=[tip.peeled], refs=[tip.name], refs_total=1
                )
                self.report.findings.append(finding)

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
        named_paths: set[tuple[str, str]] = set()  # a key in a path: once per path
        for (hit, path), (_, content) in zip(places, contents, strict=False):
            shown = decode_path(path) if path else f"(blob {hit.oid})"
            target = ScanTarget(shown, SourceKind.BLOB)
            raw = path.decode("utf-8", "surrogateescape")
            found_in_name = [
                f
                for f in keys_in_path(self.config, raw, shown, target)
                if (f.path, f.fingerprint) not in named_paths
            ]
            named_paths.update((f.path, f.fingerprint) for f in found_in_name)
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
            for finding in found_in_name:
                finding.history = placement(first, commits, refs, False, hit.oid)
                self.report.findings.append(finding)
            for finding in found:
                in_head = head_blob is not None and finding.fingerprint in keys_in.get(
                    head_blob, set()
                )
                finding.history = placement(first, commits, refs, in_head, hit.oid)
                self.report.findings.append(finding)
        contents.close()

    def _message_findings(
        self, hit: Hit, reached: dict[str, list[str]], named: dict[str, set[str]]
    ) -> None:
        author, date = identity(hit.header)
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
            placed = placement(None, [commit] if commit else [], refs, in_head, None)
            tag = hit.oid if hit.kind == "tag" else None
            finding.history = replace(placed, author=author, date=date, tag=tag)
            self.report.findings.append(finding)
