"""``keysentry guide``: the playbook for a terminal.

A summary table first (one row per key), then one compact block per key with the steps
that are its own, then the steps every key shares, written once. Lines wrap at word
boundaries to the terminal's width; exposure evidence is cut to the strongest reasons
unless ``-v`` asks for all of them.
"""

from __future__ import annotations

from keysentry.guide.layout import (
    EVIDENCE_SHOWN,
    Wrapper,
    shared_steps,
    table,
    terminal_width,
    where_first,
)
from keysentry.guide.playbook import PURGE, KeyFacts, Playbook, Step
from keysentry.model.text import escape_text

VIOLATION_LABEL = "CLIENT-SIDE (§2.2 violation)"
CLIENT_CELL = "CLIENT (§2.2)"


def yes_no(value: bool | None, unknown: str = "unknown") -> str:
    return unknown if value is None else ("yes" if value else "no")


def summary_lines(f: KeyFacts) -> list[tuple[str, str | list[str]]]:
    """(label, value) pairs shared by the text and Markdown guides; lists are places."""
    rows: list[tuple[str, str | list[str]]] = [
        ("fingerprint", f.fingerprint),
        ("provider", f"{f.provider} ({f.confidence} confidence): {f.provider_evidence}"),
        ("verification", f.status),
        ("stage", f.stage_text),
        ("committed", yes_no(f.committed) + (f" ({len(f.commits)} place(s))" if f.commits else "")),
        ("pushed", yes_no(f.pushed, "unknown" if f.committed else "n/a (not committed)")),
        ("client-side (§2.2)", "YES" if f.client else "no"),
    ]
    if f.sources:
        rows.append(("fix in", f.sources))
    if f.repositories:
        rows.append(("repositories to fix", f.repositories))
        rows.append(("spread", f.spread or ""))
    if f.files:
        rows.append(("files", f.files))
    if f.staged:
        rows.append(("staged", f.staged))
    if f.archives:
        rows.append(("archives", f.archives))
    if f.site_urls:
        rows.append(("served on the web (§2.2, strongest evidence)", f.site_urls))
    if f.client_bundles:
        rows.append(("client-side files", f.client_bundles))
    if f.refs:
        rows.append(("refs", f.refs))
    return rows


def header(playbook: Playbook) -> str:
    count = len(playbook.plans)
    text = f"{count} leaked key(s) found in {escape_text(playbook.origin)}"
    if playbook.live:
        text += f"; {playbook.live} still LIVE"
    return text


def exposure_cell(f: KeyFacts) -> str:
    return CLIENT_CELL if f.client else "server/unknown"


def pushed_cell(f: KeyFacts) -> str:
    return yes_no(f.pushed, "unknown" if f.committed else "no (never committed)")


def evidence_lines(step: Step, verbose: bool) -> list[str]:
    """``Why:`` lines, strongest first; at most EVIDENCE_SHOWN unless verbose."""
    shown = step.evidence if verbose else step.evidence[:EVIDENCE_SHOWN]
    lines = [f"Why: {e}" for e in shown]
    hidden = len(step.evidence) - len(shown)
    if hidden:
        lines.append(f"(+{hidden} weaker reason(s); -v shows them)")
    return lines


def _key_block(
    index: int, f: KeyFacts, steps: list[Step], wrap: Wrapper, verbose: bool
) -> list[str]:
    live = f.verification is not None and f.verification.is_live
    title = f"Key {index}: {f.redacted}"
    if f.client:
        title += f"  {VIOLATION_LABEL}"
    if live:
        title += "  [LIVE]"
    out = [wrap.bold(title, "red" if live or f.client else None)]
    facts = [f"{f.provider} ({f.confidence} confidence)", f.stage_text]
    if f.verification:
        facts.append(f"verification: {f.status}")
    out += wrap.lines("  ".join(facts), "  ")
    out += wrap.lines(f"provider evidence: {f.provider_evidence}", "  ")
    out.append(f"  fingerprint: {f.fingerprint}")
    if f.commits:
        out.append("  in history:")
        for commit in f.commits:
            out += wrap.lines(commit, "    ")
    for order, step in enumerate(steps, start=1):
        out.append(f"  {wrap.bold(f'{order}. {step.title}')}")
        for line in step.details:
            if line.startswith("  "):
                out += wrap.lines(line.strip(), "       ")
            elif line:
                out += wrap.lines(line, "     ")
        for line in evidence_lines(step, verbose):
            out += wrap.lines(line, "     ")
        if step.commands and step.id == PURGE:
            out.append("     (commands: see 'Purging history' below)")
        else:
            out += [f"     $ {escape_text(command)}" for command in step.commands]
    out.append("")
    return out


def render(playbook: Playbook, color: bool = False, verbose: bool = False) -> str:
    wrap = Wrapper(terminal_width(), color)
    if not playbook.plans:
        out = [f"No leaked key found in {escape_text(playbook.origin)}: nothing to rotate."]
        out += playbook.notes
        return "\n".join(out) + "\n"
    out = [wrap.bold("keysentry guide: " + header(playbook)), ""]
    for note in playbook.notes:
        out += [wrap.bold(line, "yellow") for line in wrap.lines(note, "")]
    rows = [
        [
            str(i),
            p.facts.redacted,
            exposure_cell(p.facts),
            pushed_cell(p.facts),
            where_first(p.facts),
        ]
        for i, p in enumerate(playbook.plans, start=1)
    ]
    out += table(["#", "key", "exposure", "pushed", "where"], rows, wrap.width)
    out.append("")
    shared = shared_steps(playbook)
    for index, plan in enumerate(playbook.plans, start=1):
        own = plan.steps[: len(plan.steps) - len(shared)]
        out += _key_block(index, plan.facts, own, wrap, verbose)
    if shared:
        out.append(wrap.bold("For every key, after its own steps"))
        for step in shared:
            out.append(f"  {wrap.bold('- ' + step.title)}")
            for line in step.details:
                out += wrap.lines(line.strip(), "     " if not line.startswith("  ") else "       ")
            out += [f"     $ {escape_text(command)}" for command in step.commands]
        out.append("")
    if playbook.purge is not None:
        purge = playbook.purge
        out.append(wrap.bold("Purging history (all committed keys at once)"))
        if purge.problem:
            out.append(wrap.bold(f"  Purge file not written: {purge.problem}", "yellow"))
        elif purge.written:
            out.append(f"  Purge file: {escape_text(purge.file)} (mode 0600; delete it afterwards)")
        else:
            out.append(
                "  Write the purge file first: keysentry guide --write-purge-file"
                f" {escape_text(purge.file)}"
            )
        out += [f"  {escape_text(line)}" for line in purge.commands]
        if purge.strip_commands:
            out.append("  If a key survives in archives or encoded files, drop those files:")
            out += [f"  {line}" for line in purge.strip_commands]
        out.append("  Afterwards:")
        for line in purge.aftermath:
            out += wrap.lines(f"- {line}", "  ")
        out.append("")
    for error in playbook.errors:
        out.append(f"error: {escape_text(error.path)}: {escape_text(error.message)}")
    text = "\n".join(out).rstrip("\n") + "\n"
    return wrap.highlight(text, (VIOLATION_LABEL, CLIENT_CELL))
