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
    data = {
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
        "command": options.command,
        "findings": [f.to_dict(options.show_secrets) for f in report.sorted_findings()],
        "errors": [e.to_dict() for e in report.errors],
        "stats": report.stats_dict(),
    }
    if options.command == "org":
        data.update(org_summary(report))
    return data


def org_summary(report: Report) -> dict[str, Any]:
    """``keysentry org``: the keys across repositories, and each repository's outcome."""
    from keysentry.formats.org_text import headline
    from keysentry.guide.leaked_keys import group

    keys = [
        {
            "fingerprint": key.fingerprint,
            "redacted": key.redacted,
            "summary": key.spread(),
            "client": key.client,
            "pushed": key.pushed,
            "repositories": [r.to_dict() for r in key.repositories],
            "client_repositories": [r.name for r in key.client_repositories],
            "pushed_repositories": [r.name for r in key.pushed_repositories],
            "findings": len(key.findings),
        }
        for key in group(report.findings)
    ]
    return {
        "summary": headline(report),
        "keys": keys,
        "repositories": [r.to_dict() for r in report.repositories],
    }


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(as_dict(report, options), indent=2, ensure_ascii=False) + "\n"
