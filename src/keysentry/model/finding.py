"""A finding: one key at one place, and the only ways a key is shown."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from keysentry.engine.detector import TEXT_KEY_PATTERN

RULE_ID = "deepseek-api-key"
# what every output format says of a client-side finding (see exposure.py)
VIOLATION = (
    "§2.2 violation: DeepSeek Open Platform Terms §2.2 forbid exposing an API key"
    " in browser or other client-side code"
)


def fingerprint(key: str) -> str:
    """The stable identity of a key: ``sha256:`` + hex SHA-256 of its text."""
    return "sha256:" + hashlib.sha256(key.encode("ascii")).hexdigest()


def redact(key: str) -> str:
    """At most the first and last four hex characters: ``sk-1a2b...9f8e``."""
    return f"{key[:7]}...{key[-4:]}"


def redact_text(text: str) -> str:
    """Every key-shaped run in text replaced by its redacted form."""
    return TEXT_KEY_PATTERN.sub(lambda m: redact(m.group()), text)


@dataclass
class Finding:
    """One key at one location. ``secret`` is never serialised unless asked for."""

    secret: str = field(repr=False)
    path: str
    line: int
    column: int
    provider: str
    confidence: str
    provider_evidence: str
    snippet: str
    source: str = "file"
    offset: int = 0
    rule_id: str = RULE_ID
    exposure: str = "unknown"
    exposure_evidence: list[str] = field(default_factory=list)
    severity: str = "high"
    decoded_from: list[str] = field(default_factory=list)
    original_source: str | None = None
    # git sources fill these (see sources/git_history.py)
    extra: dict[str, Any] = field(default_factory=dict)
    verification: dict[str, Any] | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.secret)

    @property
    def redacted(self) -> str:
        return redact(self.secret)

    @property
    def violation(self) -> str | None:
        """The §2.2 label of a client-side finding, else None."""
        return VIOLATION if self.exposure == "client" else None

    def sort_key(self) -> tuple[int, str, int, int]:
        rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}.get(self.severity, 4)
        return (rank, self.path, self.line, self.column)

    def to_dict(self, show_secret: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule_id": self.rule_id,
            "fingerprint": self.fingerprint,
            "redacted": self.redacted,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "provider": self.provider,
            "confidence": self.confidence,
            "provider_evidence": self.provider_evidence,
            "source": self.source,
            "snippet": self.snippet,
            "exposure": self.exposure,
            "exposure_evidence": list(self.exposure_evidence),
            "violation": self.violation,
            "severity": self.severity,
            "decoded_from": list(self.decoded_from),
        }
        if self.original_source is not None:
            data["original_source"] = self.original_source
        data.update(self.extra)
        if self.verification is not None:
            data["verification"] = dict(self.verification)
        if show_secret:
            data["secret"] = self.secret
        return data
