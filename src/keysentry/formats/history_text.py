"""The history audit as an incident summary: one entry per distinct key, then where it lives.

Selected by formats/text.py for ``keysentry history``. Keys are ordered by the one rule
every format uses (``model.finding.urgency``: severity, exposure, pushed), then keys still
in HEAD first.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import click

from keysentry.model.finding import (
    NOT_PLACED,
    Finding,
    HistoryPlacement,
    Urgency,
    severity_rank,
    urgency,
)
from keysentry.model.key import REVOKE_URL, redact_text
from keysentry.model.target import SourceKind
from keysentry.model.text import escape_text

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions
    from keysentry.model.report import Report

REFS_SHOWN = 6


def _short(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/remotes/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def _placed(finding: Finding) -> HistoryPlacement:
    return finding.history or NOT_PLACED


def _key_rank(findings: list[Finding]) -> tuple[Urgency, int, str]:
    """The one ordering rule (severity, exposure, pushed); then keys still in HEAD."""
    in_head = 0 if any(_placed(f).in_head for f in findings) else 1
    return (urgency(findings), in_head, findings[0].fingerprint)


def place(finding: Finding) -> str:
    """Where in history: a commit's blob or message, with its flags (org_text shares it)."""
    placed = _placed(finding)
    commit = placed.commit
    if finding.source.is_message:
        kind = "tag" if finding.source is SourceKind.TAG_MESSAGE else "commit"
        target = f" of {commit[:12]}" if commit else ""
        where = f"{kind} message{target}, line {finding.line}"
    else:
        where = f"{escape_text(finding.path)}:{finding.line}:{finding.column}"
        if commit:
            commits = placed.commits or [commit]
            more = f" (+{len(commits) - 1} more)" if len(commits) > 1 else ""
            merge = ", a merge's own change" if placed.merge else ""
            where += f"  introduced by {commit[:12]}{more}{merge}"
        else:
            where += "  in no commit (staged or dangling blob)"
    flags = [
        flag
        for flag, on in (
            ("PUSHED", placed.pushed),
            ("in HEAD", placed.in_head),
            ("unreachable: reflog or dangling only", not placed.reachable),
        )
        if on
    ]
    return where + (f"  [{', '.join(flags)}]" if flags else "")


def _key_entry(number: int, findings: list[Finding], options: RenderOptions) -> list[str]:
    def paint(text: str, **style: object) -> str:
        return click.style(text, **style) if options.color else text  # type: ignore[arg-type]

    first = min(findings, key=lambda f: (_placed(f).date or "9999", f.path))
    key = first.secret if options.show_secrets else first.redacted
    severity = min((f.severity for f in findings), key=severity_rank)
    pushed = any(_placed(f).pushed for f in findings)
    in_head = any(_placed(f).in_head for f in findings)
    banner = [paint(severity.upper(), fg="red", bold=True)]
    if pushed:
        banner.append(paint("PUSHED", fg="magenta", bold=True))
    if in_head:
        banner.append("IN HEAD")
    best = min(findings, key=lambda f: {"high": 0, "medium": 1}.get(f.confidence, 2))
    lines = [
        f"[{number}] {paint(key, bold=True)}  {first.fingerprint[:23]}  {'  '.join(banner)}",
        f"    provider: {best.provider} ({best.confidence} confidence): "
        f"{escape_text(best.provider_evidence)}",
    ]
    if options.verbose:  # -v: the whole fingerprint, and every ref below
        lines.append(f"    fingerprint: {first.fingerprint}")
    if any(f.exposure == "client" for f in findings):
        lines.append("    exposure: CLIENT-SIDE in at least one place (a §2.2 violation)")
    seen = _placed(first)
    if seen.commit:
        lines.append(
            f"    first seen: {seen.commit[:12]} {seen.date or ''}"
            f" by {escape_text(seen.author or '?')}"
        )
    lines.append(f"    where it lives ({len(findings)} place(s)):")
    for finding in sorted(findings, key=lambda f: (_placed(f).date or "", f.path, f.line)):
        lines.append(f"      {place(finding)}")
        if not finding.source.is_message:
            lines.append(f"        {paint(escape_text(finding.snippet), dim=True)}")
    refs = sorted(
        {r for f in findings for r in _placed(f).refs},
        key=lambda r: (not r.startswith("refs/remotes/"), not r.startswith("refs/heads/"), r),
    )
    total = max([len(refs), *(_placed(f).refs_total for f in findings)])
    if refs:
        cut = len(refs) if options.verbose else REFS_SHOWN
        shown = ", ".join(escape_text(_short(r)) for r in refs[:cut])
        more = f" (+{total - cut} more)" if total > cut else ""
        lines.append(f"    refs that reach it: {shown}{more}")
    else:
        lines.append("    refs that reach it: none (only the reflog or dangling objects hold it)")
    return lines


def render(report: Report, options: RenderOptions) -> str:
    by_key: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_key[finding.fingerprint].append(finding)
    keys = sorted(by_key.values(), key=_key_rank)
    stats = report.stats
    pushed = sum(1 for group in keys if any(_placed(f).pushed for f in group))
    in_head = sum(1 for group in keys if any(_placed(f).in_head for f in group))
    out = [
        f"History audit: {len(keys)} distinct key(s) in {len(report.findings)} place(s);"
        f" {stats.get('objects_scanned', 0):,} objects read ({stats.get('blobs_scanned', 0):,}"
        f" blobs, {stats.get('bytes_scanned', 0) / 1e6:,.1f} MB,"
        f" {stats.get('commits_scanned', 0):,} commits)."
    ]
    if pushed:
        out.append(
            f"  {pushed} key(s) already PUSHED (a remote-tracking ref reaches them):"
            " treat them as public and revoke them first."
        )
    if in_head:
        out.append(f"  {in_head} key(s) still in HEAD.")
    out.append("")
    for number, group in enumerate(keys, 1):
        out.extend(_key_entry(number, group, options))
        out.append("")
    for note in report.notes:
        out.append(f"note: {escape_text(redact_text(note))}")
    for error in report.errors:
        out.append(f"error: {escape_text(error.path)}: {escape_text(error.message)}")
    if report.errors:
        out.append(f"Audit incomplete: {len(report.errors)} error(s).")
    if keys:
        out.append(
            "Next: revoke each key on the platform's API-keys page"
            f" ({REVOKE_URL}), create a new one kept server-side,"
            " then purge the history; `keysentry guide` walks through every step."
        )
    return "\n".join(out) + "\n"
