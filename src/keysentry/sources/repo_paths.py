"""Paths as the repository names them: ``scan dist`` shows ``dist/app.js``, not ``app.js``,
whatever folder it runs from, so CI systems (SARIF, GitLab, JUnit) and baselines point
at files that exist in the repository.

The root is the nearest folder holding ``.git`` (a folder, or a worktree's file); outside
a repository, paths are shown relative to the current folder when they lie below it, and
relative to the scanned folder otherwise.
"""

from __future__ import annotations

import os
from functools import lru_cache


@lru_cache(maxsize=256)
def repository_root(path: bytes) -> bytes | None:
    """The nearest folder at or above ``path`` (absolute) that holds ``.git``."""
    here = path
    while True:
        if os.path.exists(os.path.join(here, b".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _below(path: bytes, folder: bytes) -> bytes | None:
    """``path`` relative to ``folder`` (``b""`` for the folder itself), or None if outside."""
    if path == folder:
        return b""
    prefix = folder.rstrip(b"/") + b"/"
    return path[len(prefix) :] if path.startswith(prefix) else None


def shown_prefix(folder: bytes) -> bytes:
    """What to put before the paths found below a scanned folder (``b"dist/"``, or ``b""``)."""
    absolute = os.path.abspath(folder)
    root = repository_root(absolute)
    rel = _below(absolute, root) if root is not None else _below(absolute, os.getcwdb())
    return rel + b"/" if rel else b""


def shown_file(path: bytes) -> bytes:
    """A file named on the command line, relative to its repository's root when in one."""
    absolute = os.path.abspath(path)
    root = repository_root(os.path.dirname(absolute))
    rel = _below(absolute, root) if root is not None else None
    return rel if rel else path
