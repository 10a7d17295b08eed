"""The one clock format reports use: UTC to the second, ``2026-12-01T20:00:00Z``."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
