"""Text for a terminal: wrapped at word boundaries to its width, labels highlighted."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

import click

EVIDENCE_SHOWN = 3  # exposure reasons shown per finding or key unless -v
NO_WRAP = 10**6  # output to a pipe or a file without COLUMNS: lines as long as they are
MIN_WIDTH = 60


def terminal_width() -> int:
    """COLUMNS, else the terminal's width; NO_WRAP when stdout is no terminal and COLUMNS is
    not set (so tools reading the output get whole lines). Never under MIN_WIDTH."""
    if not os.environ.get("COLUMNS") and not sys.stdout.isatty():
        return NO_WRAP
    return max(MIN_WIDTH, shutil.get_terminal_size((NO_WRAP, 24)).columns)


def strongest(reasons: list[str], verbose: bool) -> str:
    """``a; b; c (+2 more: -v)``: the reasons (strongest first), cut unless verbose."""
    shown = reasons if verbose else reasons[:EVIDENCE_SHOWN]
    text = "; ".join(shown)
    if len(reasons) > len(shown):
        text += f" (+{len(reasons) - len(shown)} weaker: -v shows them)"
    return text


@dataclass(frozen=True)
class Wrapper:
    width: int
    color: bool = False

    def lines(self, text: str, indent: str, hang: str = "  ") -> list[str]:
        """Text wrapped at word boundaries; continuation lines indented ``hang`` more."""
        return textwrap.wrap(
            text,
            self.width,
            initial_indent=indent,
            subsequent_indent=indent + hang,
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
