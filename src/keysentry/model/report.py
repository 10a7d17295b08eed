"""What a scan produced: findings, the errors that made it incomplete, and counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from keysentry.model.finding import Finding, RepositoryRef
from keysentry.model.key import redact_text
from keysentry.model.text import escape_text

EXIT_CLEAN = 0
EXIT_FOUND = 1
EXIT_INCOMPLETE = 2  # also usage errors

FAIL_ON = ("any", "client", "never")


@dataclass(frozen=True)
class ScanError:
    """Something that could not be scanned; the scan went on without it."""

    path: str
    message: str

    def __post_init__(self) -> None:  # a path or git's message may hold a key
        object.__setattr__(self, "path", redact_text(self.path))
        object.__setattr__(self, "message", redact_text(self.message))

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


# what became of a repository in an organisation audit (keysentry org)
AUDITED = "audited"
UNCHANGED = "unchanged"  # its refs matched the state file: its stored result is reused
FAILED = "failed"  # it could not be audited, or only in part (errors say why)


@dataclass(frozen=True)
class RepositoryOutcome:
    """One repository of ``keysentry org``: what it held and how its audit went."""

    repository: RepositoryRef
    status: str  # AUDITED, UNCHANGED or FAILED
    findings: int
    keys: int
    errors: tuple[ScanError, ...] = ()
    seconds: float = 0.0  # time its task spent on the worker
    worker: str = ""  # host:pid of the worker that ran it

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.repository.to_dict(),
            "status": self.status,
            "findings": self.findings,
            "keys": self.keys,
            "errors": [e.to_dict() for e in self.errors],
            "seconds": round(self.seconds, 3),
            "worker": self.worker,
        }


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    interrupted: str | None = None  # the signal that stopped the scan (audits/interrupt.py)
    repositories: list[RepositoryOutcome] = field(default_factory=list)  # keysentry org only

    @property
    def complete(self) -> bool:
        return not self.errors

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=Finding.sort_key)

    def failing(self, fail_on: str = "any") -> list[Finding]:
        if fail_on == "never":
            return []
        if fail_on == "client":
            return [f for f in self.findings if f.exposure == "client"]
        return list(self.findings)

    def exit_code(self, fail_on: str = "any") -> int:
        """1 when a finding fails the scan, else 2 when it was incomplete, else 0; always 2
        when a signal stopped it (its findings are only those found until then)."""
        if self.interrupted:
            return EXIT_INCOMPLETE
        if self.failing(fail_on):
            return EXIT_FOUND
        return EXIT_INCOMPLETE if self.errors else EXIT_CLEAN

    def problem_lines(self) -> list[str]:
        """What was not scanned (errors) and what was only partly (notes), printable."""
        lines = [f"{escape_text(e.path)}: {escape_text(e.message)}" for e in self.errors]
        return lines + [f"note: {escape_text(redact_text(note))}" for note in self.notes]

    def stats_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(sorted(self.stats.items()))
        data["findings"] = len(self.findings)
        data["distinct_keys"] = len({f.fingerprint for f in self.findings})
        # how many findings no exposure rule could place (§2.2): the model's blind spot
        unknown = sum(f.exposure == "unknown" for f in self.findings)
        data["exposure_unknown"] = unknown
        data["exposure_unknown_share"] = (
            round(unknown / len(self.findings), 3) if self.findings else 0.0
        )
        data["errors"] = len(self.errors)
        data["complete"] = self.complete
        return data
