"""``keysentry guide --format json``: a checklist, one item per step per key."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from keysentry import __version__
from keysentry.guide.playbook import Playbook

SCHEMA_VERSION = 1


def as_dict(playbook: Playbook) -> dict[str, Any]:
    keys = []
    checklist = []
    for plan in playbook.plans:
        facts = asdict(plan.facts)
        for name in ("site_urls", "original_sources"):  # only for keys a site serves
            if not facts[name]:
                del facts[name]
        facts["stage_text"] = plan.facts.stage_text
        if plan.facts.verification is not None:
            facts["verification"] = plan.facts.verification.to_dict()
        if not plan.facts.repositories:  # only keysentry org reports name repositories
            del facts["repositories"], facts["spread"]
        keys.append(facts)
        for order, step in enumerate(plan.steps, start=1):
            checklist.append(
                {
                    "key": plan.facts.fingerprint,
                    "redacted": plan.facts.redacted,
                    "order": order,
                    "step": step.id,
                    "title": step.title,
                    "details": list(step.details),
                    "commands": list(step.commands),
                    "evidence": list(step.evidence),
                    "done": False,
                }
            )
    purge = None
    if playbook.purge is not None:
        purge = asdict(playbook.purge)
    return {
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
        "kind": "keysentry-guide",
        "origin": playbook.origin,
        "keys": keys,
        "checklist": checklist,
        "purge": purge,
        "errors": [e.to_dict() for e in playbook.errors],
        "notes": playbook.notes,
    }


def render(playbook: Playbook, color: bool = False, verbose: bool = False) -> str:
    return json.dumps(as_dict(playbook), indent=2, ensure_ascii=False) + "\n"
