"""Renderers of the revoke-and-rotate playbook (``keysentry guide --format``).

Each takes a Playbook, which holds no full key, so no guide format can print one.
"""

from __future__ import annotations

from typing import Protocol

from keysentry.guide import render_json as guide_json
from keysentry.guide import render_markdown as guide_markdown
from keysentry.guide import render_text as guide_text
from keysentry.guide.playbook import Playbook


class GuideRenderer(Protocol):
    def __call__(self, playbook: Playbook, color: bool = False, verbose: bool = False) -> str: ...


GUIDE_FORMATS: dict[str, GuideRenderer] = {
    "text": guide_text.render,
    "markdown": guide_markdown.render,
    "json": guide_json.render,
}

