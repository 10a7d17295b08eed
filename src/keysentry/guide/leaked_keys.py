"""Findings grouped by key: one LeakedKey per fingerprint, with every place it was seen.

Works on finding dictionaries (``Finding.to_dict`` / the JSON report), so a fresh
audit and a saved ``--format json`` report feed the guide the same way. A saved
report holds the full key only when it was written with ``--show-secrets``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keysentry.engine.attribution import DASHSCOPE, DEEPSEEK, UNKNOWN
from keysentry.model.finding import fingerprint
from keysentry.model.report import Report
from keysentry.model.text import escape_text

_CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2}
ARCHIVE_SEPARATOR = "!"


class ReportFileError(Exception):
    """A ``--from`` report that cannot be used; the message names the file."""


HISTORY_SOURCES = ("blob", "commit-message", "tag-message")  # keysentry.audits.history


def is_history(finding: dict[str, Any]) -> bool:
    """Found by ``keysentry history``: in a commit, a message, or a stray object."""
    return finding.get("source") in HISTORY_SOURCES or bool(finding.get("commit"))


def is_commit_message(finding: dict[str, Any]) -> bool:
    return "message" in str(finding.get("source", ""))


def is_staged(finding: dict[str, Any]) -> bool:
    source = str(finding.get("source", ""))
    return not is_history(finding) and ("stag" in source or "index" in source)


def is_current_file(finding: dict[str, Any]) -> bool:
    """In the working tree (or a scanned file): the place to edit the key out."""
    return not is_history(finding) and not is_staged(finding)


def is_client(finding: dict[str, Any]) -> bool:
    return finding.get("exposure") == "client"


def archive_of(path: str) -> str | None:
    """``dist/app.zip!static/a.js`` -> ``dist/app.zip`` (the outermost archive)."""
    return path.split(ARCHIVE_SEPARATOR, 1)[0] if ARCHIVE_SEPARATOR in path else None


def where(finding: dict[str, Any]) -> str:
    """``path:line:column``, printable."""
    return f"{escape_text(str(finding.get('path', '?')))}:{finding.get('line', 0)}:" + str(
        finding.get("column", 0)
    )


@dataclass
class LeakedKey:
    """One distinct key and every finding of it. ``secret`` is None when not known."""

    fingerprint: str
    redacted: str
    secret: str | None = field(repr=False)
    findings: list[dict[str, Any]] = field(default_factory=list)
    verification: dict[str, Any] | None = None

    @property
    def providers(self) -> list[str]:
        return [str(f.get("provider", UNKNOWN)) for f in self.findings]

    @property
    def attribution(self) -> tuple[str, str, str]:
        """(provider, confidence, evidence): the most confident finding's, ties to DeepSeek."""
        best = min(
            self.findings,
            key=lambda f: (
                _CONFIDENCE_RANK.get(str(f.get("confidence")), 3),
                {DEEPSEEK: 0, DASHSCOPE: 1}.get(str(f.get("provider")), 2),
            ),
        )
        named = {p for p in self.providers if p != UNKNOWN}
        evidence = str(best.get("provider_evidence", ""))
        if len(named) > 1:
            evidence += "; other findings of this key name another provider"
        return str(best.get("provider", UNKNOWN)), str(best.get("confidence", "low")), evidence

    @property
    def provider(self) -> str:
        return self.attribution[0]

    @property
    def current_files(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if is_current_file(f)]

    @property
    def staged(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if is_staged(f)]

    @property
    def history(self) -> list[dict[str, Any]]:
        """History findings, less the staged blob itself (in the object store, no commit)."""
        staged = {f.get("path") for f in self.staged}
        return [
            f
            for f in self.findings
            if is_history(f) and (f.get("commit") or f.get("path") not in staged)
        ]

    @property
    def client_findings(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if is_client(f)]

    @property
    def archives(self) -> list[str]:
        return sorted({a for f in self.findings if (a := archive_of(str(f.get("path", ""))))})

    @property
    def committed(self) -> bool:
        return any(f.get("commit") for f in self.history)

    @property
    def pushed(self) -> bool | None:
        """True when a commit holding it is on a remote; None when nobody could tell."""
        values = [f.get("pushed") for f in self.history]
        if any(v is True for v in values):
            return True
        if values and all(v is False for v in values):
            return False
        return None

    @property
    def client(self) -> bool:
        return bool(self.client_findings)

    @property
    def commits(self) -> list[str]:
        seen: dict[str, None] = {}
        for f in self.history:
            for commit in f.get("commits") or ([f["commit"]] if f.get("commit") else []):
                seen.setdefault(str(commit), None)
        return list(seen)

    @property
    def refs(self) -> list[str]:
        return sorted({str(r) for f in self.history for r in (f.get("refs") or [])})

    @property
    def reachable(self) -> bool:
        """False when only reflogs or dangling objects hold it (gc would drop it)."""
        return any(f.get("reachable", True) for f in self.history)

    @property
    def is_live(self) -> bool:
        return bool(self.verification) and self.verification.get("status") == "live"

    def rank(self) -> tuple[int, int, int, str]:
        """Live keys first, then client-side, then pushed, then the rest."""
        return (
            0 if self.is_live else 1,
            0 if self.client else 1,
            0 if self.pushed else 1,
            self.fingerprint,
        )


def group(findings: Iterable[dict[str, Any]]) -> list[LeakedKey]:
    """One LeakedKey per fingerprint, most urgent first; identical sightings merged."""
    keys: dict[str, LeakedKey] = {}
    seen: set[tuple[Any, ...]] = set()
    for finding in findings:
        secret = finding.get("secret")
        fp = str(finding.get("fingerprint") or (fingerprint(secret) if secret else ""))
        if not fp:
            continue
        place = (fp, finding.get("path"), finding.get("line"), finding.get("column"),
                 finding.get("source"), finding.get("commit"))
        if place in seen:
            continue
        seen.add(place)
        key = keys.setdefault(
            fp, LeakedKey(fp, str(finding.get("redacted", "sk-...")), None)
        )
        if isinstance(secret, str) and fingerprint(secret) == fp:
            key.secret = secret
        if finding.get("verification") and key.verification is None:
            key.verification = dict(finding["verification"])
        key.findings.append({k: v for k, v in finding.items() if k != "secret"})
    return sorted(keys.values(), key=LeakedKey.rank)


@dataclass
class Audit:
    """What the guide starts from: the keys, and what the audit said about itself."""

    origin: str  # the repository or the report file
    keys: list[LeakedKey]
    errors: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def from_report(report: Report, origin: str) -> Audit:
    keys = group(f.to_dict(show_secret=True) for f in report.findings)
    return Audit(origin, keys, [e.to_dict() for e in report.errors], list(report.notes))


def from_report_file(path: Path) -> Audit:
    """A saved ``--format json`` report as guide input (keys in full only if it held them)."""
    findings, errors, command = load_report_file(path)
    keys = group(findings)
    notes = []
    if keys and not any(k.committed for k in keys) and command not in ("history", "guide"):
        notes.append(
            f"This report comes from `keysentry {command}`, which does not read git history:"
            " run `keysentry guide` in the repository to learn whether the keys were committed."
        )
    return Audit(str(path), keys, errors, notes)


def load_report_file(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """The findings, errors and command of a keysentry ``--format json`` report."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReportFileError(f"{path}: not a keysentry JSON report: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise ReportFileError(
            f"{path}: not a keysentry JSON report (no 'findings' list; write one with"
            " --format json)"
        )
    findings = data["findings"]
    for index, finding in enumerate(findings):
        if not isinstance(finding, dict) or not str(finding.get("fingerprint", "")).startswith(
            "sha256:"
        ):
            raise ReportFileError(f"{path}: finding {index} has no sha256: fingerprint")
    errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
    return findings, errors, str(data.get("command", "report"))
