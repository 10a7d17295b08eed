"""``keysentry guide --format markdown``: an incident ticket with a checklist per key."""

from __future__ import annotations

import re

from keysentry.guide.playbook import PURGE, Playbook
from keysentry.guide.render_text import header, summary_lines, yes_no

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


def render(playbook: Playbook, color: bool = False) -> str:
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
        "| # | key | fingerprint | provider | verification | pushed | client-side |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for index, plan in enumerate(playbook.plans, start=1):
        f = plan.facts
        out.append(
            f"| {index} | {code(f.redacted)} | {code(f.fingerprint[:19] + '…')} | {md(f.provider)}"
            f" | {md(f.status)} | {yes_no(f.pushed, 'n/a' if not f.committed else 'unknown')}"
            f" | {'**yes (§2.2)**' if f.client else 'no'} |"
        )
    for index, plan in enumerate(playbook.plans, start=1):
        f = plan.facts
        out += ["", f"## Key {index}: {code(f.redacted)}", ""]
        for label, value in summary_lines(f):
            shown = md(value) if isinstance(value, str) else ", ".join(code(v) for v in value)
            out.append(f"- **{md(label)}**: {shown}")
        if f.commits:
            out.append("- **in history**:")
            out += [f"  - {code(c)}" for c in f.commits]
        out += ["", "### Steps", ""]
        for order, step in enumerate(plan.steps, start=1):
            out.append(f"- [ ] **{order}. {md(step.title)}**")
            for line in step.details:
                if line.startswith("  "):
                    out.append(f"    - {code(line.strip())}")
                elif line:
                    out.append(f"  - {md(line)}")
            if step.commands and step.id == PURGE:
                out.append("  (commands: see *Purging history* below)")
            elif step.commands:
                out += ["", *(f"  {line}" for line in _fence(step.commands))]
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
        out += [
            f"- {code(e.path)}: {md(e.message)}"
            for e in playbook.errors
        ]
    return "\n".join(out).rstrip() + "\n"
