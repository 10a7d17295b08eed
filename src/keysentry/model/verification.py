"""What ``--verify`` learnt about one key (guide/verify.py asks; every format shows it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LIVE = "live"
REVOKED = "revoked"
UNKNOWN = "unknown"
SKIPPED = "skipped"


@dataclass(frozen=True)
class Verification:
    """The API's verdict on a key: never holds the key, nor anything the server echoed of it."""

    status: str  # live, revoked, unknown or skipped
    reason: str | None = None  # why unknown or skipped (or a note on a live answer)
    is_available: bool | None = None  # the balance answer's own field, for a live key
    checked_at: str | None = None  # ISO 8601 UTC; None when no request was made

    @property
    def is_live(self) -> bool:
        return self.status == LIVE

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status}
        if self.is_available is not None:
            data["is_available"] = self.is_available
        if self.reason is not None:
            data["reason"] = self.reason
        if self.checked_at is not None:
            data["checked_at"] = self.checked_at
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Verification | None:
        """A verification read back from a JSON report (None when there is none)."""
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            return None
        available = data.get("is_available")
        reason, checked = data.get("reason"), data.get("checked_at")
        return cls(
            status=data["status"],
            reason=reason if isinstance(reason, str) else None,
            is_available=available if isinstance(available, bool) else None,
            checked_at=checked if isinstance(checked, str) else None,
        )
