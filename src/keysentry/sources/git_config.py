"""A repository's own config file (``remote.origin.url``, ``core.bare`` …), read without git.

``keysentry org`` names each repository's remote; asking ``git config`` costs a process
per repository, a fifth of what a small repository's audit starts. A config file that
is plain (no includes, no quoting or escapes, not a linked worktree's) is read here;
anything else returns None and the caller asks git, which knows every rule.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

CONFIG_LIMIT = 1 << 20  # a repository's config is a few hundred bytes
_SECTION = re.compile(r'^\s*\[\s*([A-Za-z0-9-]+)(?:\s+"([^"\\]*)")?\s*\]\s*(?:[#;].*)?$')
_VARIABLE = re.compile(r'^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*([^\s#;"\\]*))?\s*(?:[#;][^"\\]*)?$')


@dataclass(frozen=True)
class Variable:
    section: str  # lower-cased
    subsection: str | None  # as written (case matters)
    name: str  # lower-cased
    value: str | None  # None: named without ``=`` (a boolean true)


def plain_config(git_dir: Path) -> list[Variable] | None:
    """Every variable of the repository's own config file, in order; None when the file
    is not plain (or not there): then only git can say."""
    if os.path.exists(git_dir / "commondir"):  # a linked worktree: the config is elsewhere
        return None
    try:
        with open(git_dir / "config", "rb") as handle:
            raw = handle.read(CONFIG_LIMIT + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if len(raw) > CONFIG_LIMIT:
        return None
    section: tuple[str, str | None] | None = None
    found: list[Variable] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("#", ";")):
            continue
        header = _SECTION.match(line)
        if header is not None:
            section = (header.group(1).lower(), header.group(2))
            if section[0] in ("include", "includeif"):
                return None
            continue
        variable = _VARIABLE.match(line)
        if variable is None or section is None:  # quoting, escapes, continued lines, spaces
            return None
        found.append(Variable(*section, variable.group(1).lower(), variable.group(2)))
    return found


def plain_origin_url(git_dir: Path) -> str | None:
    """The last ``url`` under ``[remote "origin"]``; "" when there is none; None when the
    file is not plain (or not there): then only git can say."""
    found = plain_config(git_dir)
    if found is None:
        return None
    url = ""
    for variable in found:
        if (variable.section, variable.subsection, variable.name) == ("remote", "origin", "url"):
            url = variable.value or ""
    return url
