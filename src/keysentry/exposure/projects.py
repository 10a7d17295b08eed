"""The project a file belongs to: the nearest folder marked as a project root, and what
that project builds (a browser app, a phone app, an extension, a server...).

A folder is a project root when it holds a marker (``package.json``, ``build.gradle`` of
an Android module, ``pubspec.yaml``, ``*.xcodeproj``, ``ProjectSettings/`` of Unity, a
mini-program's ``project.config.json``, ``wrangler.toml``, ``pyproject.toml``,
``go.mod``, ``Dockerfile``...). The nearest root above a file is its project, so a
monorepo's ``apps/web`` and ``apps/api`` are judged separately. Each folder is listed
once and each marker read once per scan (``ProjectIndex`` caches both).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from keysentry.exposure.signals import CLIENT, SERVER

if TYPE_CHECKING:
    from keysentry.exposure.markers import Kind

# what a project builds
BROWSER = "browser"  # a front-end bundled for browsers
HYBRID = "hybrid"  # a full-stack web framework: its rules decide file by file
DEVICE = "device"  # apps, extensions, games and mini-programs on users' devices
SERVER_SIDE = "server"  # servers, functions, containers, infrastructure

MAX_MARKER_BYTES = 1024 * 1024
MAX_LEVELS = 12

__all__ = [
    "BROWSER",
    "DEVICE",
    "HYBRID",
    "SERVER_SIDE",
    "Area",
    "Project",
    "ProjectIndex",
]


@dataclass(frozen=True)
class Area:
    """A folder of a project with a side of its own (Android ``src/main``, Unity ``Assets``,
    a document root, a functions folder)."""

    folder: str  # relative to the project root, '/'-separated, no trailing slash
    side: str
    strength: int
    reason: str


@dataclass(frozen=True)
class Project:
    root: str  # absolute folder
    shown: str  # the root as reports show it, '' or ending in '/'
    target: str = ""  # BROWSER, HYBRID, DEVICE, SERVER_SIDE; '' when the markers say nothing
    framework: str = ""  # next, nuxt, sveltekit, remix, astro, gatsby, angular, expo, ...
    label: str = ""  # "Vite app", "Android app module": what the evidence calls it
    marker: str = ""  # the marker file that decided, as shown ("web/package.json")
    code: frozenset[str] = frozenset()  # extensions of the project's own code
    strength: int = 1  # of the project-wide signal for its own code
    legacy: str = ""  # the evidence text for its code, when it has a set wording
    areas: tuple[Area, ...] = ()

    @property
    def side(self) -> str | None:
        if self.target in (BROWSER, DEVICE):
            return CLIENT
        if self.target == SERVER_SIDE:
            return SERVER
        return None


@dataclass
class ProjectIndex:
    """Per-scan caches: folder listings, marker files, and the project of each folder."""

    root_of: Callable[[str], str | None]  # the repository root above a folder
    shown: Callable[[str], str]  # a folder as reports show it
    _names: dict[str, frozenset[str]] = field(default_factory=dict)
    _projects: dict[str, Project | None] = field(default_factory=dict)
    reads: int = 0  # marker files read (each at most once)

    def names(self, folder: str) -> frozenset[str]:
        if folder not in self._names:
            try:
                self._names[folder] = frozenset(os.listdir(folder))
            except OSError:
                self._names[folder] = frozenset()
        return self._names[folder]

    def read(self, path: str) -> bytes | None:
        self.reads += 1
        try:
            with open(path, "rb") as handle:
                return handle.read(MAX_MARKER_BYTES)
        except OSError:
            return None

    def project_of(self, folder: str, level: int = 0) -> Project | None:
        """The nearest project at or above folder (below the repository root, if any)."""
        if folder not in self._projects:
            project = self._classify(folder)
            parent = os.path.dirname(folder)
            climb = level < MAX_LEVELS and parent != folder and self.root_of(folder) != folder
            if project is None and climb:
                project = self.project_of(parent, level + 1)
            self._projects[folder] = project
        return self._projects[folder]

    def _exists(self, folder: str) -> Callable[[str], bool]:
        def exists(rel: str) -> bool:
            head, _, rest = rel.partition("/")
            if head not in self.names(folder):
                return False
            return not rest or os.path.exists(os.path.join(folder, rel))

        return exists

    def _kinds(self, folder: str, names: frozenset[str]) -> list[Kind]:
        from keysentry.exposure.markers import folder_kinds  # read with the first finding

        def raw(name: str) -> bytes:
            return self.read(os.path.join(folder, name)) or b""

        return folder_kinds(names, raw, self._exists(folder))

    def _classify(self, folder: str) -> Project | None:
        names = self.names(folder)
        if not names:
            return None
        kinds = self._kinds(folder, names)
        if not kinds:
            return None
        shown = self.shown(folder)
        prefix = "" if shown in ("", ".") else shown.rstrip("/") + "/"
        best = min(kinds, key=lambda k: k.rank)
        marker = prefix + best.marker

        def shown_area(area: Area, kind: Kind) -> Area:
            reason = area.reason.replace("{}", prefix + kind.marker).replace("{dir}", prefix)
            return Area(area.folder, area.side, area.strength, reason)

        areas = tuple(
            shown_area(a, k) for k in sorted(kinds, key=lambda k: k.rank) for a in k.areas
        )
        return Project(
            root=folder,
            shown=prefix,
            target=best.target,
            framework=best.framework,
            label=best.label,
            marker=marker,
            code=best.code,
            strength=best.strength,
            legacy=best.legacy.replace("{}", marker),
            areas=areas,
        )
