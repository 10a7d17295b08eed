"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and other SARIF readers.

Never holds a full key, even with ``--show-secrets``: SARIF files are uploaded and
displayed. Results carry ``partialFingerprints`` from the key fingerprint so code
scanning recognises the same leak across runs and line moves.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from keysentry import __version__
from keysentry.formats.rules import RULES, describe, rule_for, verification_status
from keysentry.model.key import KEY_LENGTH
from keysentry.model.location import Where, locate

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions
    from keysentry.model.finding import Finding
    from keysentry.model.report import Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/keysentry/keysentry"
SRCROOT = "%SRCROOT%"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


_URL_SAFE = "/!$&'()*+,;=:@-._~%?#[]"


def _uri(path: str) -> str:
    return quote(path, safe="/!$&'()*+,;=:@-._~")


def _key_at_path(finding: Finding, where: Where) -> str:
    """Same key in the same file (wherever the line moves): one code-scanning alert."""
    at = f"{finding.fingerprint}\0{where.file or ''}\0{where.member or ''}"
    return hashlib.sha256(at.encode("utf-8", "surrogatepass")).hexdigest()


def _locations(finding: Finding, where: Where) -> list[dict[str, Any]]:
    location: dict[str, Any] = {}
    if where.file is not None:
        artifact = {"uri": _uri(where.file), "uriBaseId": SRCROOT}
        if finding.site is not None:  # an absolute URL: no base to resolve it against
            artifact = {"uri": quote(finding.site.url, safe=_URL_SAFE)}
        physical: dict[str, Any] = {"artifactLocation": artifact}
        if where.has_region:
            physical["region"] = {
                "startLine": max(1, where.line),
                "startColumn": max(1, where.column),
                "endColumn": max(1, where.column) + KEY_LENGTH,
                "snippet": {"text": finding.snippet},
            }
        location["physicalLocation"] = physical
    if where.member is not None or where.file is None:
        location["logicalLocations"] = [
            {
                "name": where.member or finding.path,
                "fullyQualifiedName": finding.path,
                "kind": "member" if where.member is not None else "resource",
            }
        ]
    return [location]


def _properties(finding: Finding, where: Where) -> dict[str, Any]:
    props: dict[str, Any] = {
        "fingerprint": finding.fingerprint,
        "redacted": finding.redacted,
        "severity": finding.severity,
        "security-severity": rule_for(finding).security_severity,
        "provider": finding.provider,
        "confidence": finding.confidence,
        "providerEvidence": finding.provider_evidence,
        "exposure": finding.exposure,
        "exposureEvidence": list(finding.exposure_evidence),
        "source": finding.source,
        "location": finding.path,
        "line": finding.line,
        "column": finding.column,
    }
    if finding.decoded_from:
        props["decodedFrom"] = list(finding.decoded_from)
    if where.member is not None:
        props["archiveMember"] = where.member
    if finding.site is not None:
        props["url"] = finding.site.url
        props["httpStatus"] = finding.site.status
    if where.commit is not None:
        props["commit"] = where.commit
        if finding.history is not None:
            placed = finding.history
            props.update({"refs": placed.refs, "author": placed.author, "date": placed.date})
    if status := verification_status(finding):
        props["verification"] = status
    return props


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    where = locate(finding)
    rule = rule_for(finding)
    return {
        "ruleId": rule.id_for(finding.rule_id),
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": _LEVEL.get(finding.severity, "warning"),
        "message": {"text": describe(finding)},
        "locations": _locations(finding, where),
        "partialFingerprints": {
            "keyFingerprint/v1": finding.fingerprint,
            "keyAtPath/v1": _key_at_path(finding, where),
        },
        "properties": _properties(finding, where),
    }


def _rule(rule_id: str, index: int) -> dict[str, Any]:
    rule = next(r for r in RULES if rule_id.endswith("/" + r.suffix))
    return {
        "id": rule_id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.full},
        "help": {"text": rule.help, "markdown": rule.help},
        "helpUri": INFORMATION_URI + "#what-counts-as-a-deepseek-key",
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "security-severity": rule.security_severity,
            "precision": "very-high" if rule.severity != "medium" else "medium",
            "tags": ["security", "secret", "external/cwe/cwe-798"],
        },
    }


def as_dict(report: Report, options: RenderOptions) -> dict[str, Any]:
    findings = report.sorted_findings()
    # every kind is listed for the base rule id, plus any other base a finding uses
    rule_ids = [r.id_for("deepseek-api-key") for r in RULES]
    for finding in findings:
        rid = rule_for(finding).id_for(finding.rule_id)
        if rid not in rule_ids:
            rule_ids.append(rid)
    index = {rid: i for i, rid in enumerate(rule_ids)}
    notifications = [
        {"level": "error", "message": {"text": f"{e.path}: {e.message}"}} for e in report.errors
    ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "keysentry",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(rid, i) for i, rid in enumerate(rule_ids)],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": notifications,
                        "properties": {"command": options.command, "complete": report.complete},
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": [
                    _result(f, index[rule_for(f).id_for(f.rule_id)]) for f in findings
                ],
                "properties": {"stats": report.stats_dict()},
            }
        ],
    }


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(as_dict(report, options), indent=2, ensure_ascii=False) + "\n"
