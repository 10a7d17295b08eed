"""Report renderers. A format turns a finished report into text; it never scans.

Adding a format is one module with a ``render(report, options) -> str`` and one
line in FORMATS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keysentry.formats import json_report, text
from keysentry.report import Report


@dataclass(frozen=True)
class RenderOptions:
    show_secrets: bool = False
    color: bool = False
    command: str = "scan"


Renderer = Callable[[Report, RenderOptions], str]

FORMATS: dict[str, Renderer] = {
    "text": text.render,
    "json": json_report.render,
}
