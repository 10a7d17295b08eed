"""The repository root around a file, looked up once per folder.

Paths are judged relative to the repository root (a folder holding ``.git``), else to
the current directory, so ``keysentry scan .`` inside ``dist/`` still sees ``dist/``.
The marker files that say what a project builds are read by projects.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class FolderContext:
    """Cached lookups of the repository root, per folder."""

    cwd: str = field(default_factory=os.getcwd)
    _roots: dict[str, str | None] = field(default_factory=dict)

    def root_of(self, folder: str) -> str | None:
        """The nearest folder at or above ``folder`` holding ``.git``."""
        if folder not in self._roots:
            parent = os.path.dirname(folder)
            if os.path.exists(os.path.join(folder, ".git")):
                self._roots[folder] = folder
            else:
                self._roots[folder] = None if parent == folder else self.root_of(parent)
        return self._roots[folder]

    def project_path(self, fs_path: str) -> str:
        """The path relative to the repository root, else to the current directory."""
        absolute = os.path.abspath(fs_path)
        base = self.root_of(os.path.dirname(absolute)) or self.cwd
        rel = os.path.relpath(absolute, base)
        if rel.startswith(".."):
            return fs_path.replace(os.sep, "/")
        return rel.replace(os.sep, "/")

    def shown(self, folder: str) -> str:
        """A folder as reports show it: relative to the repository root or the current
        directory, else absolute."""
        base = self.root_of(folder) or self.cwd
        rel = os.path.relpath(folder, base)
        return folder if rel.startswith("..") else rel.replace(os.sep, "/")
