"""The push check: scan only what a push adds, then say where each key sits.

Two phases, as ``keysentry history`` does, so that a clean push pays only for one
``rev-list | cat-file --batch`` stream of its new objects:

1. Scan every new blob once (whatever its paths), and every new commit's and
   tag's message.
2. Only for what held a key: the commits that introduced each blob at each path
   (merges that introduced content of their own included), through
   :meth:`HistoryRepository.introductions` over the same revisions, the pushed
   refs that reach each commit, and a second scan of each blob at its real path
   so that exposure (§2.2) sees the path. Only a push that held a key pays for this.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from keysentry.config import Config
from keysentry.engine.scanner import Scanner
from keysentry.model.finding import Finding, HistoryPlacement
from keysentry.model.report import Report, ScanError
from keysentry.model.target import COMMIT_MESSAGE_PATH, TAG_MESSAGE_PATH, ScanTarget, SourceKind
from keysentry.model.text import decode_path
from keysentry.sources.git_objects import ObjectContent, read_batch
from keysentry.sources.git_push import PushError, PushRepository

if TYPE_CHECKING:
    from keysentry.sources.git_history import HistoryRepository

BIG_OBJECT = 8 * 1024 * 1024  # larger blobs stream through the scanner in windows
OBJECTS_WITH_KEYS = "objects_with_keys"
REFS_ATTRIBUTED = 50  # pushed refs checked one by one for which of them reach a commit
_IDENTITY = re.compile(rb"^(?:author|tagger) (.*) <([^>]*)> (\d+) ([+-]\d{4})$", re.M)
_TAG_OBJECT = re.compile(rb"^object ([0-9a-f]{40,64})$", re.M)


@dataclass(frozen=True)
class PushScope:
    """What a push adds: what the tips reach and ``exclude`` (rev-list arguments) does not."""

    tips: tuple[tuple[str, str], ...]  # (ref, the object it is to point at)
    exclude: tuple[str, ...]  # e.g. ("--all",) on the server

    @property
    def revisions(self) -> list[str]:
        return [*dict.fromkeys(tip for _, tip in self.tips), "--not", *self.exclude]


@dataclass
class _Hit:
    oid: str
    kind: str  # blob, commit or tag
    findings: list[Finding]
    header: bytes = b""


@dataclass
class PushScan:
    """Phase 1's result: the objects that held keys."""

    hits: dict[str, _Hit] = field(default_factory=dict)
    missing: int = 0


def scan_push(repo: PushRepository, scope: PushScope, config: Config, report: Report) -> Report:
    """Find every key in what the push adds; findings carry a HistoryPlacement.

    PushError when git cannot list the objects (a missing tip: the quarantine was not
    seen); objects git names as missing are counted in ``report.errors``.
    """
    if not scope.tips:
        return report
    found = _scan_new_objects(repo, scope, config, report)
    if found.missing:
        report.stats["objects_missing"] += found.missing
        report.errors.append(
            ScanError(
                repo.cwd or ".",
                f"{found.missing} pushed object(s) are missing from the object store; they"
                " were not scanned",
            )
        )
    if found.hits:
        report.stats[OBJECTS_WITH_KEYS] = len(found.hits)  # known before attribution ends
        _attribute(repo, scope, config, report, found.hits)
    return report


def _scan_new_objects(
    repo: PushRepository, scope: PushScope, config: Config, report: Report
) -> PushScan:
    scratch = Report()
    scanner = Scanner(config, scratch)
    stats = report.stats
    found = PushScan()
    with repo.new_objects(scope.revisions) as stream:
        try:
            for obj, content in read_batch(stream):
                if obj.kind == "blob":
                    errors = len(scratch.errors)
                    hits = _scan_blob(scanner, obj.size, content, ScanTarget("", SourceKind.BLOB))
                    for error in scratch.errors[errors:]:
                        report.errors.append(
                            ScanError(f"blob {obj.oid}{error.path}", error.message)
                        )
                    stats["blobs_scanned"] += 1
                    stats["bytes_scanned"] += obj.size
                    if hits:
                        found.hits[obj.oid] = _Hit(obj.oid, "blob", hits)
                elif obj.kind in ("commit", "tag"):
                    header, _, message = content.read().partition(b"\n\n")
                    source = (
                        SourceKind.COMMIT_MESSAGE
                        if obj.kind == "commit"
                        else SourceKind.TAG_MESSAGE
                    )
                    hits = scanner.scan_bytes(message, ScanTarget("", source))
                    stats[f"{obj.kind}s_scanned"] += 1
                    if hits:
                        found.hits[obj.oid] = _Hit(obj.oid, obj.kind, hits, header)
                elif obj.kind == "missing":
                    found.missing += 1
        except EOFError as exc:
            raise PushError(f"reading the pushed objects failed: {exc}") from exc
    for name in ("suppressed_inline", "suppressed_allowlist"):
        stats[name] += scratch.stats[name]
    return found


def _attribute(
    repo: PushRepository,
    scope: PushScope,
    config: Config,
    report: Report,
    hits: dict[str, _Hit],
) -> None:
    from keysentry.sources.git_history import HistoryError, HistoryRepository

    try:
        history = HistoryRepository(repo.cwd or ".")
        blobs = {oid for oid, hit in hits.items() if hit.kind == "blob"}
        intros = history.introductions(blobs, None, scope.revisions) if blobs else {}
    except HistoryError as exc:
        raise PushError(f"attributing findings: {exc}") from exc
    reaching = _refs_reaching(repo, scope)
    tag_refs: dict[str, list[str]] = defaultdict(list)
    for ref, tip in scope.tips:
        tag_refs[tip].append(ref)
    _blob_findings(history, config, report, hits, intros, reaching)
    for hit in hits.values():
        if hit.kind == "blob":
            continue
        author, date = _identity(hit.header)
        if hit.kind == "commit":
            commit: str | None = hit.oid
            refs, path, tag = reaching(hit.oid), COMMIT_MESSAGE_PATH, None
        else:
            target = _TAG_OBJECT.search(hit.header)
            commit = target.group(1).decode() if target else None
            refs, path, tag = tag_refs.get(hit.oid, []), TAG_MESSAGE_PATH, hit.oid
        for finding in hit.findings:
            finding.path = path
            finding.history = HistoryPlacement(
                commit=commit,
                commits=[commit] if commit else [],
                author=author,
                date=date,
                refs=refs,
                refs_total=len(refs),
                tag=tag,
            )
            report.findings.append(finding)


def _blob_findings(
    history: HistoryRepository,
    config: Config,
    report: Report,
    hits: dict[str, _Hit],
    intros: dict,
    reaching: _Reaching,
) -> None:
    places = []
    for oid, hit in hits.items():
        if hit.kind != "blob":
            continue
        by_path = defaultdict(list)
        for intro in intros.get(oid, []):
            by_path[intro.path].append(intro)
        for path, introduced in (by_path or {b"": []}).items():
            if path and config.is_excluded(path.decode("utf-8", "surrogateescape")):
                report.stats["files_excluded"] += 1
                continue
            places.append((hit, path, introduced))
    scanner = Scanner(config, Report())
    contents = history.blobs(hit.oid for hit, _, _ in places)
    for (hit, path, introduced), (obj, content) in zip(places, contents, strict=False):
        shown = decode_path(path) if path else f"(blob {hit.oid})"
        found = _scan_blob(scanner, obj.size, content, ScanTarget(shown, SourceKind.BLOB))
        commits = list(dict.fromkeys(i.commit for i in introduced))
        refs = list(dict.fromkeys(r for c in commits for r in reaching(c)))
        first = introduced[0] if introduced else None
        for finding in found:
            finding.history = HistoryPlacement(
                commit=first.commit if first else None,
                commits=commits,
                author=first.author if first else None,
                date=first.date if first else None,
                refs=refs,
                refs_total=len(refs),
                blob=hit.oid,
                merge=first is not None and first.merge,
            )
            report.findings.append(finding)
    contents.close()


def _scan_blob(
    scanner: Scanner, size: int, content: ObjectContent, target: ScanTarget
) -> list[Finding]:
    if size <= BIG_OBJECT:
        return scanner.scan_bytes(content.read(), target)
    return scanner.scan_stream(content, target)


class _Reaching:
    """Which pushed refs reach a commit: one rev-list per ref, run on first use."""

    def __init__(self, repo: PushRepository, scope: PushScope) -> None:
        self.repo, self.scope = repo, scope
        self._commits: list[tuple[str, set[str]]] | None = None

    def __call__(self, commit: str) -> list[str]:
        if self._commits is None:
            self._commits = [
                (ref, set(self.repo.commits([tip, "--not", *self.scope.exclude])))
                for ref, tip in self.scope.tips[:REFS_ATTRIBUTED]
            ]
        return [ref for ref, commits in self._commits if commit in commits]


def _refs_reaching(repo: PushRepository, scope: PushScope) -> _Reaching:
    return _Reaching(repo, scope)


def _identity(header: bytes) -> tuple[str | None, str | None]:
    found = _IDENTITY.search(header)
    if found is None:
        return None, None
    name, email = (found.group(i).decode("utf-8", "replace") for i in (1, 2))
    from datetime import datetime, timedelta, timezone

    offset = found.group(4).decode()
    sign = -1 if offset.startswith("-") else 1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    return f"{name} <{email}>", datetime.fromtimestamp(int(found.group(3)), zone).isoformat()
