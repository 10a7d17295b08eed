"""``keysentry org --format markdown``: the organisation summary for a ticket or a job summary.

A table of keys across repositories (most urgent first), then one of the repositories
that held a key or failed. Every scanned text is escaped (formats/markdown.py); keys are
always redacted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from keysentry.formats.markdown import escape_markdown
from keysentry.formats.org_text import headline, repository_label, repository_summary
from keysentry.formats.rules import REVOKE_URL
from keysentry.guide.leaked_keys import group
from keysentry.model.report import FAILED

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions
    from keysentry.model.report import Report


def render(report: Report, options: RenderOptions) -> str:
    keys = group(report.findings)
    out = [f"## 🔑 keysentry org: {escape_markdown(headline(report))}", ""]
    if keys:
        out += [
            "| # | key | fingerprint | spread | repositories |",
            "| --- | --- | --- | --- | --- |",
        ]
        for number, key in enumerate(keys, start=1):
            names = ", ".join(escape_markdown(repository_label(r)) for r in key.repositories)
            out.append(
                f"| {number} | `{key.redacted}` | `{key.fingerprint[:19]}` |"
                f" {escape_markdown(key.spread())} | {names} |"
            )
        out.append("")
    out += [escape_markdown(repository_summary(report)), ""]
    listed = [r for r in report.repositories if r.findings or r.status == FAILED]
    if listed:
        out += ["| repository | findings | keys | errors |", "| --- | --- | --- | --- |"]
        for outcome in listed:
            errors = "; ".join(e.message for e in outcome.errors)
            out.append(
                f"| {escape_markdown(repository_label(outcome.repository))} | {outcome.findings}"
                f" | {outcome.keys} | {escape_markdown(errors) or '-'} |"
            )
        out.append("")
    if keys:
        out.append(
            f"Revoke each key on the DeepSeek platform's API-keys page ({REVOKE_URL}), then fix"
            " every repository named; `keysentry guide --from REPORT.json` writes the steps."
        )
    if report.errors:
        out.append("")
        out.append(f"**Audit incomplete: {len(report.errors)} error(s)**")
    return "\n".join(out) + "\n"
