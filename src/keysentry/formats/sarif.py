"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and other SARIF readers.

Never holds a full key, even with ``--show-secrets``: SARIF files are uploaded and
displayed. What GitHub code scanning needs to ingest it
(https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning):

- ``partialFingerprints.primaryLocationLineHash``, GitHub's alert identity, derived from
  the key fingerprint and the artifact path (not the line: an alert survives line moves),
  beside keysentry's own ``keyFingerprint/v1`` and ``keyAtPath/v1``;
- a physical location for every result, URIs relative to the repository root with
  ``uriBaseId``; a key in a commit or tag message points at a pseudo-artifact under
  ``.git/keysentry/`` (model/location.py), the commit named in the message and properties;
- at most 25,000 results a run and 5,000 a rule (GitHub rejects a larger file whole);
  what was left out is said in the run's ``invocations`` (and on stderr by the CLI);
- ``executionSuccessful: false`` when the scan was incomplete.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from keysentry import __version__
from keysentry.formats.rules import RULES, describe, rule_for, rule_id, verification_status
from keysentry.model.finding import Finding
from keysentry.model.key import KEY_LENGTH
from keysentry.model.location import Where, locate
from keysentry.model.report import Report

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/keysentry/keysentry"
SRCROOT = "%SRCROOT%"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub code scanning's upload limits (a file over them is rejected whole)
MAX_RESULTS = 25_000
MAX_RESULTS_PER_RULE = 5_000


_URL_SAFE = "/!$&'()*+,;=:@-._~%?#[]"


def _uri(path: str) -> str:
    return quote(path, safe="/!$&'()*+,;=:@-._~")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _key_at_path(finding: Finding, where: Where) -> str:
    """Same key in the same file (wherever the line moves): one code-scanning alert."""
    return _digest(finding.fingerprint, where.file or "", where.member or "")


def line_hash(finding: Finding, where: Where) -> str:
    """``primaryLocationLineHash``: the key and the artifact it sits in, never the line."""
    return _digest(finding.fingerprint, where.artifact, where.member or "") + ":1"


def _locations(finding: Finding, where: Where) -> list[dict[str, Any]]:
    artifact = {"uri": _uri(where.artifact), "uriBaseId": SRCROOT}
    if finding.site is not None:  # an absolute URL: no base to resolve it against
        artifact = {"uri": quote(finding.site.url, safe=_URL_SAFE)}
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if where.has_artifact_region:
        line, column = max(1, where.line), max(1, where.column)
        physical["region"] = {
            "startLine": line,
            "startColumn": column,
            "endLine": line,
            "endColumn": column + KEY_LENGTH,
            "snippet": {"text": finding.snippet},
        }
    location: dict[str, Any] = {"physicalLocation": physical}
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
    if finding.repository is not None:  # keysentry org: paths are relative to this one
        props["repository"] = finding.repository.to_dict()
    if finding.image_path is not None:
        props["imagePath"] = finding.image_path
    if finding.image_note is not None:
        props["imageNote"] = finding.image_note
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
    return {
        "ruleId": rule_id(finding),
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": _LEVEL.get(finding.severity, "warning"),
        "message": {"text": describe(finding)},
        "locations": _locations(finding, where),
        "partialFingerprints": {
            "primaryLocationLineHash": line_hash(finding, where),
            "keyFingerprint/v1": finding.fingerprint,
            "keyAtPath/v1": _key_at_path(finding, where),
        },
        "properties": _properties(finding, where),
    }


def _rule(rid: str, index: int) -> dict[str, Any]:
    rule = next(r for r in RULES if rid.endswith("/" + r.suffix))
    return {
        "id": rid,
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


@dataclass(frozen=True)
class Capped:
    """The findings a SARIF run holds, and what the limits left out."""

    kept: list[Finding]
    dropped_by_rule: dict[str, int]  # rule id -> results left out
    total: int

    @property
    def dropped(self) -> int:
        return self.total - len(self.kept)

    def note(self) -> str | None:
        if not self.dropped:
            return None
        rules = ", ".join(f"{n} of {rid}" for rid, n in self.dropped_by_rule.items())
        return (
            f"the SARIF report holds {len(self.kept)} of {self.total} results (GitHub code"
            f" scanning takes at most {MAX_RESULTS} a run and {MAX_RESULTS_PER_RULE} a rule):"
            f" {self.dropped} left out ({rules}), the least severe first; the json or jsonl"
            " report has them all"
        )


def cap(
    findings: list[Finding], per_rule: int = MAX_RESULTS_PER_RULE, total: int = MAX_RESULTS
) -> Capped:
    """The first ``per_rule`` findings of each rule, then the first ``total`` (most severe
    first: findings come sorted)."""
    kept: list[Finding] = []
    seen: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    for finding in findings:
        rid = rule_id(finding)
        if seen[rid] >= per_rule or len(kept) >= total:
            dropped[rid] += 1
            continue
        seen[rid] += 1
        kept.append(finding)
    return Capped(kept, dict(dropped), len(findings))


def cap_note(report: Report) -> str | None:
    """What the CLI says on stderr when the limits left results out."""
    return cap(report.sorted_findings()).note()


def as_dict(report: Report, options: RenderOptions) -> dict[str, Any]:
    capped = cap(report.sorted_findings())
    findings = capped.kept
    # every kind is listed for the base rule id, plus any other base a finding uses
    rule_ids = [r.id_for("deepseek-api-key") for r in RULES]
    for finding in findings:
        rid = rule_id(finding)
        if rid not in rule_ids:
            rule_ids.append(rid)
    index = {rid: i for i, rid in enumerate(rule_ids)}
    notifications: list[dict[str, Any]] = [
        {"level": "error", "message": {"text": f"{e.path}: {e.message}"}} for e in report.errors
    ]
    if note := capped.note():
        notifications.append({"level": "warning", "message": {"text": note}})
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
                        "executionSuccessful": report.complete,
                        "toolExecutionNotifications": notifications,
                        "properties": {
                            "command": options.command,
                            "complete": report.complete,
                            "resultsDropped": capped.dropped,
                        },
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": [_result(f, index[rule_id(f)]) for f in findings],
                "properties": {"stats": report.stats_dict()},
            }
        ],
    }


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(as_dict(report, options), indent=2, ensure_ascii=False) + "\n"
