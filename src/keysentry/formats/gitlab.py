"""``--format gitlab``: GitLab's secret-detection report (``artifacts:reports:secret_detection``).

Follows GitLab's security report schema (secret-detection-report-format, 15.x):
``version``, ``vulnerabilities`` (id, name, description, severity, solution,
identifiers, location with file/start_line/commit.sha) and ``scan``, whose ``status`` is
``failure`` when the scan was incomplete. No ``raw_source_code_extract``: it would hold
the key.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from keysentry import __version__
from keysentry.formats.rules import REVOKE_URL, describe, rule_for
from keysentry.model.location import locate

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions
    from keysentry.model.finding import Finding
    from keysentry.model.report import Report

SCHEMA_VERSION = "15.0.7"
# GitLab's own analyzers put this placeholder where a file is not tied to a commit
NO_COMMIT = "0000000"
_NAMESPACE = uuid.UUID("5b1c2c52-7d0e-4f0e-9a4a-6b6579736e74")
_SEVERITY = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}
_TOOL = {
    "id": "keysentry",
    "name": "keysentry",
    "version": __version__,
    "vendor": {"name": "keysentry"},
    "url": "https://github.com/keysentry/keysentry",
}


def _vulnerability(finding: Finding) -> dict[str, Any]:
    where = locate(finding)
    rule = rule_for(finding)
    rule_id = rule.id_for(finding.rule_id)
    file = where.file or finding.path
    if where.member is not None:
        file = f"{where.file}!{where.member}"
    commit: dict[str, Any] = {"sha": where.commit or NO_COMMIT}
    placed = finding.history
    if placed is not None:
        commit.update({k: v for k, v in (("author", placed.author), ("date", placed.date)) if v})
    identity = f"{rule_id}\0{finding.fingerprint}\0{finding.path}\0{where.commit or ''}"
    return {
        "id": str(uuid.uuid5(_NAMESPACE, identity)),
        "name": rule.title,
        "description": describe(finding),
        "severity": _SEVERITY.get(finding.severity, "Unknown"),
        "solution": (
            f"Revoke the key at {REVOKE_URL}, create a new one kept server-side, and remove the"
            " key from the code (and from history if it was committed)."
        ),
        "identifiers": [
            {
                "type": "keysentry_rule_id",
                "name": f"keysentry rule {rule_id}",
                "value": rule_id,
                "url": "https://github.com/keysentry/keysentry#what-counts-as-a-deepseek-key",
            },
            {"type": "cwe", "name": "CWE-798", "value": "798",
             "url": "https://cwe.mitre.org/data/definitions/798.html"},
        ],
        "location": {
            "file": file,
            "start_line": max(1, finding.line),
            "end_line": max(1, finding.line),
            "commit": commit,
        },
    }


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def as_dict(report: Report, options: RenderOptions, now: datetime | None = None) -> dict[str, Any]:
    moment = _timestamp(now or datetime.now(timezone.utc))
    return {
        "version": SCHEMA_VERSION,
        "vulnerabilities": [_vulnerability(f) for f in report.sorted_findings()],
        "scan": {
            "analyzer": dict(_TOOL),
            "scanner": dict(_TOOL),
            "type": "secret_detection",
            "start_time": moment,
            "end_time": moment,
            "status": "success" if report.complete else "failure",
            "messages": [
                {"level": "warn", "value": f"not scanned: {e.path}: {e.message}"}
                for e in report.errors
            ],
        },
    }


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(as_dict(report, options), indent=2, ensure_ascii=False) + "\n"
