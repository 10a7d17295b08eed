"""``--format jsonl``: JSON Lines, one finding per line, for ``jq``, log shippers and
``grep``. Each line is the finding object of ``--format json`` (same keys, same
``--show-secrets`` rule) with ``"type": "finding"``; each path that could not be scanned
is a line with ``"type": "error"``; the last line (``"type": "summary"``) holds the stats."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from keysentry.formats.json_report import SCHEMA_VERSION

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions
    from keysentry.model.report import Report


def _line(kind: str, data: dict[str, Any]) -> str:
    return json.dumps({"type": kind, **data}, ensure_ascii=False)


def render(report: Report, options: RenderOptions) -> str:
    lines = [_line("finding", f.to_dict(options.show_secrets)) for f in report.sorted_findings()]
    lines += [_line("error", e.to_dict()) for e in report.errors]
    summary = {"command": options.command, "schema_version": SCHEMA_VERSION}
    lines.append(_line("summary", {**summary, "stats": report.stats_dict()}))
    return "\n".join(lines) + "\n"
