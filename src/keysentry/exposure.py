"""Does a key reach end users' devices (a §2.2 violation)? Judged from where it lives."""

from __future__ import annotations

from dataclasses import dataclass, field

CLIENT = "client"
SERVER = "server"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Exposure:
    verdict: str = UNKNOWN
    evidence: list[str] = field(default_factory=list)


def assess(path: str, data: bytes, start: int, end: int) -> Exposure:
    """The verdict for a key at data[start:end] of the file at path."""
    return Exposure()


def severity(exposure: str, confidence: str) -> str:
    """critical for client exposure, high for a key elsewhere, lower when attribution is weak."""
    if exposure == CLIENT:
        return "critical"
    return "high" if confidence in ("high", "medium") else "medium"
