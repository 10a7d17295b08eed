"""Findings grouped by key: one LeakedKey per fingerprint, with every place it was seen.

Works on ``Finding`` values: a fresh audit's, or a saved ``--format json`` report's
read back with ``Finding.from_dict``, so both feed the guide the same way. A saved
report holds the full key only when it was written with ``--show-secrets``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from keysentry.engine.attribution import DASHSCOPE, DEEPSEEK, UNKNOWN
from keysentry.model.finding import (
    NOT_PLACED,
    Finding,
    HistoryPlacement,
    RepositoryRef,
    Urgency,
    urgency,
)
from keysentry.model.key import fingerprint
from keysentry.model.report import Report, ScanError
from keysentry.model.target import MEMBER_SEPARATOR, SourceKind
from keysentry.model.text import escape_text
from keysentry.model.verification import Verification

_CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2}


class ReportFileError(Exception):
    """A ``--from`` report that cannot be used; the message names the file."""


def is_history(finding: Finding) -> bool:
    """Found by ``keysentry history``: in a commit, a message, or a stray object."""
    return finding.source.is_history or bool(finding.history and finding.history.commit)


def is_commit_message(finding: Finding) -> bool:
    return finding.source.is_message


def is_staged(finding: Finding) -> bool:
    return not is_history(finding) and finding.source is SourceKind.STAGED


def is_site(finding: Finding) -> bool:
    """Served by a deployed site (``keysentry site``): the strongest §2.2 evidence."""
    return finding.source is SourceKind.SITE


def is_current_file(finding: Finding) -> bool:
    """In the working tree (or a scanned file): the place to edit the key out."""
    return not is_history(finding) and not is_staged(finding) and not is_site(finding)


def is_client(finding: Finding) -> bool:
    return finding.exposure == "client"


def archive_of(path: str) -> str | None:
    """``dist/app.zip!static/a.js`` -> ``dist/app.zip`` (the outermost archive)."""
    return path.split(MEMBER_SEPARATOR, 1)[0] if MEMBER_SEPARATOR in path else None


def where(finding: Finding) -> str:
    """``path:line:column`` (``repository: path:line:column`` in an org audit), printable."""
    place = f"{escape_text(finding.path)}:{finding.line}:{finding.column}"
    if finding.repository is not None:
        return f"{escape_text(finding.repository.name)}: {place}"
    return place


def count(number: int, noun: str, plural: str | None = None) -> str:
    """``1 key``, ``4 repositories``."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def placed(finding: Finding) -> HistoryPlacement:
    return finding.history or NOT_PLACED


@dataclass
class LeakedKey:
    """One distinct key and every finding of it. ``secret`` is None when not known."""

    fingerprint: str
    redacted: str
    secret: str | None = field(repr=False)
    findings: list[Finding] = field(default_factory=list)
    verification: Verification | None = None

    @property
    def providers(self) -> list[str]:
        return [f.provider for f in self.findings]

    @property
    def attribution(self) -> tuple[str, str, str]:
        """(provider, confidence, evidence): the most confident finding's, ties to DeepSeek."""
        best = min(
            self.findings,
            key=lambda f: (
                _CONFIDENCE_RANK.get(f.confidence, 3),
                {DEEPSEEK: 0, DASHSCOPE: 1}.get(f.provider, 2),
            ),
        )
        named = {p for p in self.providers if p != UNKNOWN}
        evidence = best.provider_evidence
        if len(named) > 1:
            evidence += "; other findings of this key name another provider"
        return best.provider, best.confidence, evidence

    @property
    def provider(self) -> str:
        return self.attribution[0]

    @property
    def current_files(self) -> list[Finding]:
        return [f for f in self.findings if is_current_file(f)]

    @property
    def staged(self) -> list[Finding]:
        return [f for f in self.findings if is_staged(f)]

    @property
    def history(self) -> list[Finding]:
        """History findings, less the staged blob itself (in the object store, no commit)."""
        staged = {f.path for f in self.staged}
        return [
            f
            for f in self.findings
            if is_history(f) and (placed(f).commit or f.path not in staged)
        ]

    @property
    def site_findings(self) -> list[Finding]:
        return [f for f in self.findings if is_site(f)]

    @property
    def site_urls(self) -> list[str]:
        """Every URL that serves it, as the site report named them."""
        return sorted({f.site.url if f.site else f.path for f in self.site_findings})

    @property
    def client_findings(self) -> list[Finding]:
        return [f for f in self.findings if is_client(f)]

    @property
    def archives(self) -> list[str]:
        return sorted({a for f in self.findings if (a := archive_of(f.path))})

    @property
    def committed(self) -> bool:
        return any(placed(f).commit for f in self.history)

    @property
    def pushed(self) -> bool | None:
        """True when a commit holding it is on a remote; None when nobody could tell."""
        values = [placed(f).pushed for f in self.history]
        if any(values):
            return True
        return False if values else None

    @property
    def client(self) -> bool:
        return bool(self.client_findings)

    @property
    def commits(self) -> list[str]:
        seen: dict[str, None] = {}
        for f in self.history:
            at = placed(f)
            for commit in at.commits or ([at.commit] if at.commit else []):
                seen.setdefault(commit, None)
        return list(seen)

    @property
    def refs(self) -> list[str]:
        return sorted({r for f in self.history for r in placed(f).refs})

    @property
    def reachable(self) -> bool:
        """False when only reflogs or dangling objects hold it (gc would drop it)."""
        return any(placed(f).reachable for f in self.history)

    @property
    def local_objects(self) -> bool:
        """Git holds it outside any commit: a staged blob, or one left dangling when the
        hook blocked the commit (``git gc --prune=now`` drops it once nothing refers to it)."""
        return bool(self.staged) or any(
            is_history(f) and not placed(f).commit for f in self.findings
        )

    @property
    def published(self) -> bool:
        """Served to anyone: found in a site response."""
        return bool(self.site_findings)

    @property
    def repositories(self) -> list[RepositoryRef]:
        """The repositories holding it (``keysentry org``), in name order."""
        return sorted({f.repository for f in self.findings if f.repository is not None})

    @property
    def client_repositories(self) -> list[RepositoryRef]:
        return sorted({f.repository for f in self.client_findings if f.repository is not None})

    @property
    def pushed_repositories(self) -> list[RepositoryRef]:
        return sorted(
            {f.repository for f in self.history if f.repository and placed(f).pushed}
        )

    def spread(self) -> str:
        """``in 4 repositories, client-side in 1, pushed in 3``."""
        return spread(
            len(self.repositories), len(self.client_repositories), len(self.pushed_repositories)
        )

    @property
    def is_live(self) -> bool:
        return self.verification is not None and self.verification.is_live

    def rank(self) -> tuple[int, Urgency, str]:
        """The one ordering rule (``urgency``: live, severity, exposure, pushed or served
        by a site)."""
        return (0 if self.is_live else 1, urgency(self.findings), self.fingerprint)


def spread(repositories: int, client: int, pushed: int) -> str:
    """Where keys were found, most urgent exposure named (org summaries and the guide)."""
    text = f"in {count(repositories, 'repository', 'repositories')}"
    return text + f", client-side in {client}, pushed in {pushed}"


def group(findings: Iterable[Finding]) -> list[LeakedKey]:
    """One LeakedKey per fingerprint, most urgent first; identical sightings merged."""
    keys: dict[str, LeakedKey] = {}
    seen: set[tuple[object, ...]] = set()
    for finding in findings:
        fp = finding.fingerprint
        place = (fp, finding.path, finding.line, finding.column, finding.source,
                 placed(finding).commit, finding.repository)
        if place in seen:
            continue
        seen.add(place)
        key = keys.setdefault(fp, LeakedKey(fp, finding.redacted or "sk-...", None))
        if finding.secret and fingerprint(finding.secret) == fp:
            key.secret = finding.secret
        if finding.verification and key.verification is None:
            key.verification = finding.verification
        key.findings.append(finding)
    for key in keys.values():  # each key's places by the same rule, whatever the input order
        key.findings.sort(key=Finding.sort_key)
    return sorted(keys.values(), key=LeakedKey.rank)


@dataclass
class GuideInput:
    """What the guide starts from: the keys, and what the audit said about itself."""

    origin: str  # the repository or the report file
    keys: list[LeakedKey]
    errors: list[ScanError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # environment variable -> the .env*/CI lines that define it (audits/env_definitions)
    definitions: dict[str, list[str]] = field(default_factory=dict)
    history_read: bool = True  # False: a report of a command that does not read git history


def from_report(report: Report, origin: str) -> GuideInput:
    return GuideInput(origin, group(report.findings), list(report.errors), list(report.notes))


def from_report_file(path: Path) -> GuideInput:
    """A saved ``--format json`` report as guide input (keys in full only if it held them)."""
    findings, errors, command = load_report_file(path)
    keys = group(findings)
    notes = []
    if keys and not any(k.committed for k in keys) and command not in ("history", "guide", "org"):
        notes.append(
            f"This report comes from `keysentry {command}`, which does not read git history:"
            " run `keysentry guide` in the repository to learn whether the keys were committed."
        )
    history_read = command in ("history", "guide", "ci")
    return GuideInput(str(path), keys, errors, notes, history_read=history_read)


def load_report_file(path: Path) -> tuple[list[Finding], list[ScanError], str]:
    """The findings, errors and command of a keysentry ``--format json`` report."""
    from keysentry.small_file import REPORT_LIMIT, RefusedFile, read_small_file

    try:
        data = json.loads(read_small_file(path, REPORT_LIMIT).decode("utf-8"))
    except RefusedFile as exc:
        raise ReportFileError(f"{path}: not read: it {exc}") from exc
    except OSError as exc:
        raise ReportFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ReportFileError(f"{path}: not a keysentry JSON report: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise ReportFileError(
            f"{path}: not a keysentry JSON report (no 'findings' list; write one with"
            " --format json)"
        )
    findings = []
    for index, raw in enumerate(data["findings"]):
        if not isinstance(raw, dict) or not str(raw.get("fingerprint", "")).startswith("sha256:"):
            raise ReportFileError(f"{path}: finding {index} has no sha256: fingerprint")
        try:
            findings.append(Finding.from_dict(raw))
        except (KeyError, TypeError, ValueError) as exc:
            raise ReportFileError(f"{path}: finding {index} is malformed: {exc!r}") from exc
    errors = [
        ScanError(str(e.get("path", "?")), str(e.get("message", "")))
        for e in data.get("errors") or []
        if isinstance(e, dict)
    ]
    return findings, errors, str(data.get("command", "report"))
