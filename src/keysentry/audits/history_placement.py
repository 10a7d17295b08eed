"""Record shaping for a history audit: where a finding sits (commits, refs, HEAD, pushed)."""

from __future__ import annotations

import re

from keysentry.model.finding import HistoryPlacement
from keysentry.sources.git_history import Introduction
from keysentry.sources.git_refs import REMOTE_PREFIX

REFS_LISTED = 1000  # refs listed per finding; refs_total says how many there are
IDENTITY = re.compile(rb"^(author|tagger) (.*) <([^>]*)> (\d+) ([+-]\d{4})$", re.M)


def identity(header: bytes) -> tuple[str | None, str | None]:
    """The author (or tagger) and ISO date in a commit or tag header."""
    found = IDENTITY.search(header)
    if found is None:
        return None, None
    name, email = found.group(2), found.group(3)
    who = f"{name.decode('utf-8', 'replace')} <{email.decode('utf-8', 'replace')}>"
    return who, iso_date(int(found.group(4)), found.group(5).decode())


def placement(
    first: Introduction | None,
    commits: list[str],
    refs: set[str],
    in_head: bool,
    blob: str | None,
) -> HistoryPlacement:
    listed = sorted(refs - {"HEAD"}, key=ref_rank)
    return HistoryPlacement(
        commit=first.commit if first is not None else (commits[0] if commits else None),
        commits=commits,
        author=first.author if first is not None else None,
        date=first.date if first is not None else None,
        refs=listed[:REFS_LISTED],
        refs_total=len(listed),
        in_head=in_head,
        pushed=any(r.startswith(REMOTE_PREFIX) for r in refs),
        reachable=bool(refs),
        blob=blob,
        merge=first is not None and first.merge,
    )


def ref_rank(name: str) -> tuple[int, str]:
    order = ("refs/remotes/", "refs/heads/", "refs/tags/")
    rank = next((i for i, prefix in enumerate(order) if name.startswith(prefix)), len(order))
    return rank, name


def iso_date(seconds: int, offset: str) -> str:
    from datetime import datetime, timedelta, timezone

    sign = -1 if offset.startswith("-") else 1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    return datetime.fromtimestamp(seconds, zone).isoformat()
