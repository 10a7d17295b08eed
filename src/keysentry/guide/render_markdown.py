"""``keysentry guide --format markdown``: an incident ticket with a checklist per key."""

from __future__ import annotations

import re

from keysentry.guide.layout import shared_steps, where_first
from keysentry.guide.playbook import PURGE, Playbook, Step
from keysentry.guide.render_text import (
    evidence_lines,
    exposure_cell,
    header,
    pushed_cell,
    summary_lines,
)

# Enough to stop emphasis, links, raw HTML and table breaks; `code` spans are harmless.
_MD_SPECIAL = re.compile(r"([\\*\[\]<>|~])")


def md(text: str) -> str:
    """Text with Markdown and HTML syntax escaped, so a path cannot inject markup."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def code(text: str) -> str:
    """An inline code span that holds any text, backticks included."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fence(lines: list[str]) -> list[str]:
    body = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}sh", *lines, fence]


def _step(title: str, step: Step, verbose: bool) -> list[str]:
    out = [f"- [ ] **{md(title)}**"]
    for line in step.details:
        if line.startswith("  "):
            out.append(f"    - {code(line.strip())}")
        elif line:
            out.append(f"  - {md(line)}")
    out += [f"  - {md(line)}" for line in evidence_lines(step, verbose)]
    if step.commands and step.id == PURGE:
        out.append("  (commands: see *Purging history* below)")
    elif step.commands:
        out += ["", *[f"  {line}" for line in _fence(step.commands)]]
    return out


def render(playbook: Playbook, color: bool = False, verbose: bool = False) -> str:
    out = ["# Incident: leaked API keys", ""]
    if not playbook.plans:
        out.append(f"No leaked key found in {md(playbook.origin)}.")
        out += ["", *[f"> {md(n)}" for n in playbook.notes]]
        return "\n".join(out).rstrip() + "\n"
    out.append(md(header(playbook)) + ".")
    for note in playbook.notes:
        out += ["", f"> **{md(note)}**"]
    out += [
        "",
        "| # | key | exposure | pushed | stage | where | fingerprint | verification |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for index, plan in enumerate(playbook.plans, start=1):
        f = plan.facts
        out.append(
            f"| {index} | {code(f.redacted)} | {md(exposure_cell(f))}"
            f" | {pushed_cell(f)} | {md(f.stage_text)} | {code(where_first(f))}"
            f" | {code(f.fingerprint[:19] + '…')} | {md(f.status)} |"
        )
    shared = shared_steps(playbook)
    for index, plan in enumerate(playbook.plans, start=1):
        f = plan.facts
        title = f"## Key {index}: {code(f.redacted)}"
        if f.client:
            title += " — **CLIENT-SIDE (§2.2 violation)**"
        out += ["", title, ""]
        for label, value in summary_lines(f):
            shown = md(value) if isinstance(value, str) else ", ".join(code(v) for v in value)
            out.append(f"- **{md(label)}**: {shown}")
        if f.commits:
            out.append("- **in history**:")
            out += [f"  - {code(c)}" for c in f.commits]
        out += ["", "### Steps", ""]
        own = plan.steps[: len(plan.steps) - len(shared)]
        for order, step in enumerate(own, start=1):
            out += _step(f"{order}. {step.title}", step, verbose)
    if shared:
        out += ["", "## Every key, after its own steps", ""]
        for step in shared:
            out += _step(step.title, step, verbose)
    if playbook.purge is not None:
        purge = playbook.purge
        out += ["", "## Purging history", ""]
        if purge.problem:
            out.append(f"**Purge file not written:** {md(purge.problem)}")
        elif purge.written:
            out.append(f"Purge file: {code(purge.file)} (mode 0600; delete it afterwards).")
        else:
            out.append(
                "Write the purge file first: "
                + code(f"keysentry guide --write-purge-file {purge.file}")
            )
        out += ["", *_fence(purge.commands)]
        if purge.strip_commands:
            out += ["", "If a key survives in archives or encoded files, drop those files:", ""]
            out += _fence(purge.strip_commands)
        out += ["", "Afterwards:", ""]
        out += [f"- [ ] {md(line)}" for line in purge.aftermath]
    if playbook.errors:
        out += ["", "## Scan errors", ""]
        out += [f"- {code(e.path)}: {md(e.message)}" for e in playbook.errors]
    return "\n".join(out).rstrip() + "\n"
