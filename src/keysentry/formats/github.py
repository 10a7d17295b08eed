"""``--format github``: GitHub Actions workflow commands that annotate the pull request.

Each finding becomes ``::error file=…,line=…,col=…,title=…::message``; the runner
shows it on the file's line and in the run summary. Keys are always redacted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from keysentry.formats.rules import describe, rule_for
from keysentry.model.key import KEY_LENGTH
from keysentry.model.location import locate

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions
    from keysentry.model.finding import Finding
    from keysentry.model.report import Report

_COMMAND = {"critical": "error", "high": "error", "medium": "warning", "low": "notice"}


def escape_data(text: str) -> str:
    """The message part: the runner decodes %25, %0D and %0A."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: additionally ``:`` and ``,``, which end a property."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None
    )
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def annotation(finding: Finding) -> str:
    where = locate(finding)
    title = f"{rule_for(finding).title}: {finding.redacted}"
    if where.commit is not None:
        title += f" (commit {where.commit[:12]})"
    properties: dict[str, str | int | None] = {"file": where.file}
    if where.has_region:
        properties.update(
            line=finding.line,
            endLine=finding.line,
            col=finding.column,
            endColumn=finding.column + KEY_LENGTH,
        )
    properties["title"] = title
    return command(_COMMAND.get(finding.severity, "warning"), describe(finding), **properties)


def render(report: Report, options: RenderOptions) -> str:
    lines = [annotation(f) for f in report.sorted_findings()]
    lines += [
        command("error", f"{e.path}: {e.message}", title="keysentry: scan incomplete")
        for e in report.errors
    ]
    keys = len({f.fingerprint for f in report.findings})
    summary = f"keysentry: {len(report.findings)} finding(s) of {keys} distinct key(s)"
    if report.errors:
        summary += f"; scan incomplete ({len(report.errors)} error(s))"
    lines.append(summary)
    return "\n".join(lines) + "\n"
