"""``keysentry org`` as text: one entry per key across repositories, then per repository.

Selected by formats/text.py for the ``org`` command. Keys are grouped by fingerprint
(guide/leaked_keys.py), so a key copied into four repositories is one entry that names
all four; live, client-side and pushed keys come first. Then each repository that held
a key or failed, with what it held; clean repositories are counted, not listed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import click

from keysentry.formats import history_text
from keysentry.guide.leaked_keys import LeakedKey, count, group, is_history, spread
from keysentry.model.report import FAILED, UNCHANGED, RepositoryOutcome
from keysentry.model.text import escape_text

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions
    from keysentry.model.finding import Finding, RepositoryRef
    from keysentry.model.report import Report


def place(finding: Finding) -> str:
    """Where in its repository: a commit's blob or message, or the working tree."""
    if is_history(finding):
        return history_text.place(finding)
    return f"{escape_text(finding.path)}:{finding.line}:{finding.column}  (working tree)"


def repository_label(repository: RepositoryRef | None) -> str:
    if repository is None:
        return "?"
    label = escape_text(repository.name)
    if repository.remote and repository.remote != repository.name:
        label += f" ({escape_text(repository.remote)})"
    return label


def headline(report: Report) -> str:
    """``3 keys in 5 of 50 repositories, client-side in 1, pushed in 3``."""
    keys = group(report.findings)
    holding = {f.repository for f in report.findings}
    client = {r for k in keys for r in k.client_repositories}
    pushed = {r for k in keys for r in k.pushed_repositories}
    where = spread(len(holding), len(client), len(pushed))
    total = len(report.repositories)
    if total != len(holding):
        where = where.replace(f"in {len(holding)} ", f"in {len(holding)} of {total} ", 1)
    return f"{count(len(keys), 'key')} {where}"


def repository_summary(report: Report) -> str:
    outcomes = report.repositories
    failed = sum(1 for r in outcomes if r.status == FAILED)
    unchanged = sum(1 for r in outcomes if r.status == UNCHANGED)
    holding = sum(1 for r in outcomes if r.findings)
    text = (
        f"{count(len(outcomes), 'repository', 'repositories')}: {holding} with keys,"
        f" {len(outcomes) - holding - failed} clean, {failed} failed"
    )
    if unchanged:
        text += f" ({unchanged} unchanged since the state file, not audited again)"
    return text


def _key_entry(number: int, key: LeakedKey, options: RenderOptions) -> list[str]:
    def paint(text: str, **style: object) -> str:
        return click.style(text, **style) if options.color else text  # type: ignore[arg-type]

    shown = key.secret if options.show_secrets and key.secret else key.redacted
    provider, confidence, _ = key.attribution
    flags = [
        paint(flag, fg="red", bold=True)
        for flag, on in (("LIVE", key.is_live), ("CLIENT-SIDE", key.client), ("PUSHED", key.pushed))
        if on
    ]
    lines = [
        f"[{number}] {paint(shown, bold=True)}  {key.fingerprint[:23]}"
        f"  {provider} ({confidence})  {'  '.join(flags)}".rstrip(),
        f"    {key.spread()}",
    ]
    if options.verbose:  # -v: the whole fingerprint
        lines.insert(1, f"    fingerprint: {key.fingerprint}")
    by_repository: dict[RepositoryRef | None, list[Finding]] = defaultdict(list)
    for finding in key.findings:
        by_repository[finding.repository].append(finding)
    client = set(key.client_repositories)
    pushed = set(key.pushed_repositories)
    for repository in sorted(by_repository, key=lambda r: (r not in client, r not in pushed, r)):
        marks = [
            m
            for m, on in (("client-side", repository in client), ("pushed", repository in pushed))
            if on
        ]
        lines.append(
            f"    {repository_label(repository)}" + (f"  [{', '.join(marks)}]" if marks else "")
        )
        lines += [f"      {place(f)}" for f in by_repository[repository]]
    return lines


def _repository_lines(outcome: RepositoryOutcome, findings: list[Finding]) -> list[str]:
    label = repository_label(outcome.repository)
    if outcome.status == FAILED:
        lines = [
            f"  {label}: FAILED"
            + (f", yet {count(outcome.findings, 'finding')}" if outcome.findings else "")
        ]
        lines += [f"      {escape_text(e.message)}" for e in outcome.errors]
    else:
        lines = [f"  {label}: {count(outcome.findings, 'finding')} of {count(outcome.keys, 'key')}"]
    for fp in dict.fromkeys(f.fingerprint for f in findings):
        held = [f for f in findings if f.fingerprint == fp]
        lines.append(f"      {held[0].redacted}  {fp[:23]}  {count(len(held), 'place')}")
    return lines


def render(report: Report, options: RenderOptions) -> str:
    keys = group(report.findings)
    out = [f"keysentry org: {headline(report)}", ""]
    for number, key in enumerate(keys, start=1):
        out += _key_entry(number, key, options)
        out.append("")
    out.append(repository_summary(report))
    by_name: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_name[finding.repository.name if finding.repository else ""].append(finding)
    for outcome in report.repositories:
        if outcome.findings or outcome.status == FAILED:
            out += _repository_lines(outcome, by_name.get(outcome.repository.name, []))
    if report.errors:
        out.append(f"audit incomplete: {count(len(report.errors), 'error')}")
    if keys:
        out.append(
            "Next: revoke each key on the platform's API-keys page"
            " (https://platform.deepseek.com/api_keys), then fix every repository it names;"
            " `keysentry guide --from REPORT.json` (a --format json report) writes the steps."
        )
    return "\n".join(out) + "\n"
