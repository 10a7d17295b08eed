"""``keysentry guide``: the playbook for a terminal."""

from __future__ import annotations

import click

from keysentry.guide.playbook import PURGE, KeyFacts, Playbook
from keysentry.model.text import escape_text


def yes_no(value: bool | None, unknown: str = "unknown") -> str:
    return unknown if value is None else ("yes" if value else "no")


def summary_lines(f: KeyFacts) -> list[tuple[str, str | list[str]]]:
    """(label, value) pairs shared by the text and Markdown guides; lists are places."""
    rows: list[tuple[str, str | list[str]]] = [
        ("fingerprint", f.fingerprint),
        ("provider", f"{f.provider} ({f.confidence} confidence): {f.provider_evidence}"),
        ("verification", f.status),
        ("committed", yes_no(f.committed) + (f" ({len(f.commits)} place(s))" if f.commits else "")),
        ("pushed", yes_no(f.pushed, "unknown" if f.committed else "n/a (not committed)")),
        ("client-side (§2.2)", "YES" if f.client else "no"),
    ]
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


def render(playbook: Playbook, color: bool = False) -> str:
    def bold(text: str, fg: str | None = None) -> str:
        return click.style(text, bold=True, fg=fg) if color else text

    if not playbook.plans:
        out = [f"No leaked key found in {escape_text(playbook.origin)}: nothing to rotate."]
        out += playbook.notes
        return "\n".join(out) + "\n"
    out = [bold("keysentry guide: " + header(playbook)), ""]
    out += [bold(note, "yellow") for note in playbook.notes]
    for index, plan in enumerate(playbook.plans, start=1):
        f = plan.facts
        live = (f.verification or {}).get("status") == "live"
        out.append(bold(f"Key {index}: {f.redacted}" + ("  [LIVE]" if live else ""),
                        "red" if live or f.client else None))
        out += [
            f"  {label}: {value if isinstance(value, str) else ', '.join(value)}"
            for label, value in summary_lines(f)
        ]
        if f.commits:
            out.append("  in history:")
            out += [f"    {c}" for c in f.commits]
        out.append("")
        for order, step in enumerate(plan.steps, start=1):
            out.append(f"  {bold(f'{order}. {step.title}')}")
            out += [f"     {line}" for line in step.details if line]
            if step.commands and step.id == PURGE:
                out.append("     (commands: see 'Purging history' below)")
            elif step.commands:
                out += [f"     $ {escape_text(command)}" for command in step.commands]
        out.append("")
    if playbook.purge is not None:
        purge = playbook.purge
        out.append(bold("Purging history (all committed keys at once)"))
        if purge.problem:
            out.append(bold(f"  Purge file not written: {purge.problem}", "yellow"))
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
        out += [f"  - {line}" for line in purge.aftermath]
        out.append("")
    for error in playbook.errors:
        out.append(
            f"error: {escape_text(error.path)}:"
            f" {escape_text(error.message)}"
        )
    return "\n".join(out).rstrip("\n") + "\n"
