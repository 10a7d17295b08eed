"""Layout shared by the text and Markdown guides: the summary table's cells, the steps
every key shares, and wrapping at word boundaries to the terminal's width."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

import click

from keysentry.guide.playbook import KeyFacts, Playbook, Step

EVIDENCE_SHOWN = 3  # exposure reasons shown per key unless -v
DEFAULT_WIDTH = 100  # when the width cannot be learnt (not a terminal, no COLUMNS)
MIN_WIDTH = 60


def terminal_width() -> int:
    """COLUMNS, else the terminal's width, else DEFAULT_WIDTH; never under MIN_WIDTH."""
    return max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


@dataclass(frozen=True)
class Wrapper:
    width: int
    color: bool = False

    def lines(self, text: str, indent: str) -> list[str]:
        """Text wrapped at word boundaries; continuation lines indented two more."""
        return textwrap.wrap(
            text,
            self.width,
            initial_indent=indent,
            subsequent_indent=indent + "  ",
            break_long_words=False,
            break_on_hyphens=False,
        ) or [indent.rstrip()]

    def bold(self, text: str, fg: str | None = None) -> str:
        return click.style(text, bold=True, fg=fg) if self.color else text

    def highlight(self, text: str, labels: Iterable[str]) -> str:
        """Each label in reverse red, on a terminal (wrapping never splits them)."""
        if not self.color:
            return text
        for label in labels:
            text = text.replace(label, click.style(label, fg="red", bold=True, reverse=True))
        return text


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
