"""``--format markdown``: a summary for ``$GITHUB_STEP_SUMMARY`` or a merge-request note.

Every text from the scanned material (paths, evidence) is escaped so it renders as
text: no links, no HTML, no broken tables. Keys are always redacted.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from keysentry.formats.rules import (
    REVOKE_URL,
    image_note,
    rule_for,
    source_note,
    verification_status,
)
from keysentry.model.location import locate

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions
    from keysentry.model.finding import Finding
    from keysentry.model.report import Report

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")
_ICON = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "⚪"}


def escape_markdown(text: str) -> str:
    """Plain text that renders as itself inside a table cell."""
    text = html.escape(text, quote=False)
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return text.replace("\r", " ").replace("\n", " ")


def _row(finding: Finding) -> str:
    where = locate(finding)
    location = where.label
    if image := image_note(finding):
        location += f" (image path: {image})"
    if source := source_note(finding):
        location += f" (fix in source: {source})"
    exposure = finding.exposure
    if finding.exposure_evidence:
        exposure += ": " + "; ".join(finding.exposure_evidence)
    provider = f"{finding.provider} ({finding.confidence})"
    if status := verification_status(finding):
        provider += f", verification: {status}"
    cells = [
        f"{_ICON.get(finding.severity, '')} {finding.severity}",
        escape_markdown(rule_for(finding).title),
        escape_markdown(location),
        f"`{finding.redacted}`",
        escape_markdown(exposure),
        escape_markdown(provider),
        f"`{finding.fingerprint[:19]}`",
    ]
    return "| " + " | ".join(cells) + " |"


def render(report: Report, options: RenderOptions) -> str:
    if options.command == "org":
        from keysentry.formats import org_markdown

        return org_markdown.render(report, options)
    keys = len({f.fingerprint for f in report.findings})
    stats = report.stats
    scanned = [
        f"{stats[name]} {label}"
        for name, label in (("files_scanned", "file(s)"), ("commits_scanned", "commit(s)"))
        if stats.get(name)
    ]
    scope = f" in {' and '.join(scanned)}" if scanned else ""
    out: list[str] = []
    if report.findings:
        out.append(f"## 🔑 keysentry: {len(report.findings)} DeepSeek API key finding(s)")
        out.append("")
        out.append(f"{keys} distinct key(s){scope}. Keys are shown redacted.")
        out.append("")
        out.append("| severity | kind | location | key | exposure | provider | fingerprint |")
        out.append("| --- | --- | --- | --- | --- | --- | --- |")
        out.extend(_row(f) for f in report.sorted_findings())
        out.append("")
        out.append("**Next steps**")
        out.append("")
        out.append(f"1. Revoke each key on the DeepSeek platform's API-keys page ({REVOKE_URL}).")
        out.append("2. Create a new key and keep it server-side (environment or secret manager).")
        out.append("3. Remove the key from the code and, if it was committed, from history;")
        out.append("   `keysentry guide` walks through every step.")
    else:
        out.append("## ✅ keysentry: no DeepSeek API keys found")
        out.append("")
        out.append(f"Nothing found{scope}.")
    if report.errors:
        out.append("")
        out.append(f"**Scan incomplete: {len(report.errors)} error(s)**")
        out.append("")
        out.extend(f"- {escape_markdown(f'{e.path}: {e.message}')}" for e in report.errors)
    return "\n".join(out) + "\n"
