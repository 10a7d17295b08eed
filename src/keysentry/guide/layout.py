"""Layout shared by the text and Markdown guides: the summary table's cells, the steps
every key shares, and wrapping at word boundaries to the terminal's width."""

from __future__ import annotations

from keysentry.formats.wrap import EVIDENCE_SHOWN, Wrapper, terminal_width
from keysentry.guide.playbook import KeyFacts, Playbook, Step

__all__ = ["EVIDENCE_SHOWN", "Wrapper", "shared_steps", "table", "terminal_width", "where_first"]


def shared_steps(playbook: Playbook) -> list[Step]:
    """The steps that end every key's list word for word (billing, prevention...), when
    there are several keys: written once, after the keys' own steps."""
    if len(playbook.plans) < 2:
        return []
    shared: list[Step] = []
    lists = [plan.steps for plan in playbook.plans]
    while all(len(steps) > len(shared) for steps in lists):
        step = lists[0][-1 - len(shared)]
        if not all(steps[-1 - len(shared)] == step for steps in lists):
            break
        shared.insert(0, step)
    return shared


def where_first(f: KeyFacts) -> str:
    """The table's ``where`` cell: the place to fix it, else the first place it is in."""
    places = [
        *(s.split("  (", 1)[0] for s in f.sources),
        *f.files,
        *f.staged,
        *f.archives,
        *("git objects only (no commit)" if c.startswith("no commit") else c for c in f.commits),
    ]
    if not places:
        return "-"
    more = f" (+{len(places) - 1})" if len(places) > 1 else ""
    return places[0] + more


def table(headers: list[str], rows: list[list[str]], width: int) -> list[str]:
    """A plain-text table; the last column is cut to fit the width."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers) - 1)]
    room = max(10, width - sum(widths) - 2 * len(widths) - 2)

    def row(cells: list[str]) -> str:
        last = cells[-1] if len(cells[-1]) <= room else cells[-1][: room - 1] + "…"
        return (
            "  "
            + "  ".join(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=True))
            + "  "
            + last
        )

    return [row(headers), *(row(r) for r in rows)]
