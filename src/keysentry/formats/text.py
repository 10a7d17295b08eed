"""The human report: grouped by file, coloured on a terminal, safe to print."""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING

import click

from keysentry.formats.rules import image_note, source_note
from keysentry.formats.wrap import Wrapper, strongest, terminal_width
from keysentry.guide.verify import describe
from keysentry.model.key import REVOKE_URL
from keysentry.model.text import escape_text

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions
    from keysentry.model.finding import Finding, Urgency
    from keysentry.model.report import Report

VIOLATION_LABEL = "CLIENT-SIDE: a §2.2 violation"
_SEVERITY_COLOR = {"critical": "magenta", "high": "red", "medium": "yellow", "low": "cyan"}


def _finding_lines(finding: Finding, options: RenderOptions, wrap: Wrapper) -> list[str]:
    def paint(text: str, **style: object) -> str:
        return click.style(text, **style) if options.color else text  # type: ignore[arg-type]

    sev = paint(finding.severity.upper(), fg=_SEVERITY_COLOR.get(finding.severity), bold=True)
    key = finding.secret if options.show_secrets else finding.redacted
    lines = [
        f"  {finding.line}:{finding.column}  {sev}  {paint(key, bold=True)}"
        f"  provider={finding.provider} ({finding.confidence} confidence)"
        f"  {finding.fingerprint[:19]}",
        f"      {finding.provider_evidence}",
    ]
    if finding.exposure != "unknown":
        verdict = VIOLATION_LABEL if finding.exposure == "client" else "server-side"
        why = strongest(finding.exposure_evidence, options.verbose)
        lines += wrap.lines(f"exposure: {verdict} ({why})", "      ", "    ")
    if finding.history is not None and finding.history.commit:
        at = finding.history
        by = f" by {escape_text(at.author)}" if at.author else ""
        when = f" {at.date}" if at.date else ""
        pushed = ", PUSHED" if at.pushed else ""
        lines.append(f"      commit: {at.commit[:12]}{when}{by}{pushed}")
    if finding.decoded_from:
        lines.append(f"      decoded from: {' > '.join(finding.decoded_from)}")
    if image := image_note(finding):
        lines.append(f"      image path: {escape_text(image)}")
    if source := source_note(finding):
        lines.append(f"      fix in source: {source}")
    if finding.verification is not None:
        lines.append(f"      verification: {describe(finding.verification)}")
    if options.verbose:
        lines.extend(f"      {line}" for line in _more_evidence(finding))
    lines.append(f"      {paint(escape_text(finding.snippet), dim=True)}")
    return lines


def _more_evidence(finding: Finding) -> list[str]:
    """-v: the full fingerprint, where the bytes came from, the full commit and its refs
    (the short commit, its date and author, and the source file are shown anyway)."""
    lines = [f"fingerprint: {finding.fingerprint}", f"source: {finding.source}"]
    if finding.notebook_cell is not None:
        lines.append(f"notebook cell: {finding.notebook_cell} line {finding.cell_line}")
    placed = finding.history
    if placed is not None and placed.commit:
        lines.append(f"full commit: {placed.commit}")
        if placed.refs:
            lines.append(f"refs: {escape_text(', '.join(placed.refs))}")
    return lines


def render(report: Report, options: RenderOptions) -> str:
    if options.command == "history":
        from keysentry.formats import history_text

        return history_text.render(report, options)
    if options.command == "site":
        from keysentry.formats import site_text

        return site_text.render(report, options)
    if options.command == "org":
        from keysentry.formats import org_text

        return org_text.render(report, options)
    wrap = Wrapper(terminal_width(), options.color)
    out: list[str] = []
    rank: dict[str, tuple[Urgency, str, int, int]] = {}
    for f in report.findings:
        rank[f.path] = min(rank.get(f.path, f.sort_key()), f.sort_key())
    findings = sorted(report.findings, key=lambda f: (rank[f.path], f.line, f.column))
    for path, group in groupby(findings, key=lambda f: f.path):
        shown = escape_text(path)
        out.append(click.style(shown, bold=True) if options.color else shown)
        for finding in group:
            out.extend(_finding_lines(finding, options, wrap))
        out.append("")
    for error in report.errors:
        out.append(f"error: {escape_text(error.path)}: {escape_text(error.message)}")
    keys = len({f.fingerprint for f in report.findings})
    summary = (
        f"{len(report.findings)} finding(s) of {keys} distinct key(s)"
        f" in {report.stats.get('files_scanned', 0)} file(s) scanned"
    )
    if report.stats.get("commits_scanned"):
        summary += f" and {report.stats['commits_scanned']} commit(s) audited"
    if report.errors:
        summary += f"; scan incomplete: {len(report.errors)} error(s)"
    out.append(summary)
    if report.findings:
        out.append(
            "Next: remove each key from the code, revoke it on the platform's API-keys page"
            f" ({REVOKE_URL}) and create a new one kept server-side;"
            " `keysentry guide` walks through every step."
        )
    return wrap.highlight("\n".join(out) + "\n", (VIOLATION_LABEL,))
