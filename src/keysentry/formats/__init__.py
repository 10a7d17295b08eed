"""Report renderers. A format turns a finished report into text; it never scans.

Adding a format is one module with a ``render(report, options) -> str`` and one
line in FORMATS. A format's module is imported only when that format renders:
every scan pays for the start-up of the ones it does not use (XML, HTML...) otherwise.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from keysentry.model.report import Report


@dataclass(frozen=True)
class RenderOptions:
    show_secrets: bool = False
    color: bool = False
    command: str = "scan"
    verbose: int = 0  # -v: every exposure reason and more evidence in the text report


Renderer = Callable[[Report, RenderOptions], str]


def _renderer(module: str) -> Renderer:
    def render(report: Report, options: RenderOptions) -> str:
        return importlib.import_module(f"keysentry.formats.{module}").render(report, options)

    return render


FORMATS: dict[str, Renderer] = {
    "text": _renderer("text"),
    "json": _renderer("json_report"),
    "jsonl": _renderer("jsonl"),
    "sarif": _renderer("sarif"),
    "github": _renderer("github"),
    "markdown": _renderer("markdown"),
    "gitlab": _renderer("gitlab"),
    "junit": _renderer("junit"),
}
