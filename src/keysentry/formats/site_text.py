"""The site audit for a terminal: one entry per distinct key, then every URL serving it.

Selected by formats/text.py for ``keysentry site``. A key a browser can download is
live on the web: the entry says so and points at ``keysentry guide --from``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import click

from keysentry.guide.verify import describe
from keysentry.model.text import escape_text

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions
    from keysentry.model.finding import Finding
    from keysentry.model.report import Report

_SEVERITY_COLOR = {"critical": "magenta", "high": "red", "medium": "yellow", "low": "cyan"}
# the crawl's counts the summary line names, in this order
SUMMARY_STATS = (
    ("pages", "page(s)"),
    ("scripts", "script(s)"),
    ("styles", "stylesheet(s)"),
    ("maps", "source map(s)"),
    ("manifests", "manifest(s)"),
)


def _url_line(finding: Finding) -> str:
    site = finding.site
    url = escape_text(site.url if site else finding.path)
    line = f"    {url}:{finding.line}:{finding.column}  (HTTP {site.status if site else '?'})"
    if finding.original_source is not None:
        line += f"  original source {escape_text(finding.original_source)}"
        if finding.original_line is not None:
            line += f":{finding.original_line}"
        if finding.original_variable is not None:
            line += f"; reads {finding.original_variable}"
    if finding.decoded_from:
        line += f"  decoded from {' > '.join(finding.decoded_from)}"
    return line


def _key_lines(findings: list[Finding], options: RenderOptions) -> list[str]:
    def paint(text: str, **style: object) -> str:
        return click.style(text, **style) if options.color else text  # type: ignore[arg-type]

    first = findings[0]
    key = first.secret if options.show_secrets else first.redacted
    sev = paint(first.severity.upper(), fg=_SEVERITY_COLOR.get(first.severity), bold=True)
    urls = {f.site.url if f.site else f.path for f in findings}
    lines = [
        f"{paint(key, bold=True)}  {sev}  provider={first.provider}"
        f" ({first.confidence} confidence)  {first.fingerprint[:19]}",
        f"  {first.provider_evidence}",
        "  CLIENT-SIDE, live on the web: a §2.2 violation; anyone can download it from"
        f" {len(urls)} URL(s):",
    ]
    lines += sorted({_url_line(f) for f in findings})
    if first.verification is not None:
        lines.append(f"  verification: {describe(first.verification)}")
    lines.append(f"  {paint(escape_text(first.snippet), dim=True)}")
    return lines


def _size(count: int) -> str:
    return f"{count / 1e6:,.1f} MB" if count >= 100_000 else f"{count:,} bytes"


def summary(report: Report) -> str:
    stats = report.stats
    counted = ", ".join(f"{stats.get(name, 0)} {label}" for name, label in SUMMARY_STATS)
    keys = len({f.fingerprint for f in report.findings})
    text = (
        f"{len(report.findings)} finding(s) of {keys} distinct key(s) in {counted}"
        f" ({_size(stats.get('bytes_fetched', 0))} fetched)"
    )
    if report.errors:
        text += f"; crawl incomplete: {len(report.errors)} error(s)"
    return text


def render(report: Report, options: RenderOptions) -> str:
    by_key: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.sorted_findings():
        by_key[finding.fingerprint].append(finding)
    out: list[str] = []
    for findings in by_key.values():
        out += [*_key_lines(findings, options), ""]
    for error in report.errors:
        out.append(f"error: {escape_text(error.path)}: {escape_text(error.message)}")
    out.append(summary(report))
    if report.findings:
        out.append(
            "Next: revoke each key now (https://platform.deepseek.com/api_keys), then rebuild,"
            " redeploy and purge CDN caches; `keysentry site ... -f json -o site.json` and"
            " `keysentry guide --from site.json` walk through every step."
        )
    return "\n".join(out) + "\n"
