"""``--format json``: the machine-readable report (its schema is in the README)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from keysentry import __version__

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions
    from keysentry.model.report import Report

SCHEMA_VERSION = 1


def as_dict(report: Report, options: RenderOptions) -> dict[str, Any]:
    return {
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
        "command": options.command,
        "findings": [f.to_dict(options.show_secrets) for f in report.sorted_findings()],
        "errors": [e.to_dict() for e in report.errors],
        "stats": report.stats_dict(),
    }


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(as_dict(report, options), indent=2, ensure_ascii=False) + "\n"
