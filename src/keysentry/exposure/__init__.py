"""Does a key reach end users' devices (a §2.2 violation)? Judged from where it lives.

Signals (signals.py) come from the location (paths.py), the file's text
(content.py), the variable the key is assigned to (variables.py: public build-time
prefixes), the block around the key (blocks.py, frameworks.key_signals), the file's
project (projects.py finds and markers.py classifies it; frameworks.py applies its
rules), the project's import graph for JS/TS modules (imports.py) and the
configuration's own ``client_paths``/``server_paths``. The strongest signal decides; on
a tie, client wins (calling a shipped key "server" would hide a §2.2 violation). Every
signal is listed as evidence, the deciding ones first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from keysentry.config import Config, wildmatch_spec
from keysentry.exposure.content import content_signals, minified_signal
from keysentry.exposure.folders import FolderContext
from keysentry.exposure.paths import path_signals
from keysentry.exposure.projects import BROWSER, HYBRID, Project, ProjectIndex
from keysentry.exposure.signals import (
    CLIENT,
    JS_LIKE,
    SERVER,
    Signal,
    client,
    extension,
    server,
    split_location,
)
from keysentry.exposure.variables import assigned_name, prefix_signal
from keysentry.model.finding import VIOLATION
from keysentry.model.text import escape_text

if TYPE_CHECKING:
    import pathspec

    from keysentry.exposure.imports import ImportGraph

UNKNOWN = "unknown"
NO_SIGNAL = "no client-side or server-side signal in the path, the file or its folders"
HEAD_BYTES = 256 * 1024
TAIL_BYTES = 64 * 1024
OVERRIDE = 10  # the project's own globs beat every built-in signal
COMPRESSED = (".gz", ".br", ".gzip")

__all__ = ["CLIENT", "SERVER", "UNKNOWN", "VIOLATION", "Exposure", "Judge", "assess", "severity"]


@dataclass(frozen=True)
class Exposure:
    verdict: str = UNKNOWN
    evidence: list[str] = field(default_factory=list)


def decide(signals: list[Signal], known: str | None = None) -> Exposure:
    """The strongest side wins (client on a tie); every distinct reason is kept.
    ``known`` is what is known without a side (the project), said when nothing decides."""
    if not signals:
        return Exposure(UNKNOWN, [escape_text(known) if known else NO_SIGNAL])
    best = {CLIENT: 0, SERVER: 0}
    for signal in signals:
        best[signal.side] = max(best[signal.side], signal.strength)
    verdict = CLIENT if best[CLIENT] >= best[SERVER] else SERVER
    ordered = sorted(signals, key=lambda s: (s.side != verdict, -s.strength))
    # reasons quote file and folder names: printable whatever bytes the names hold
    return Exposure(verdict, list(dict.fromkeys(escape_text(s.reason) for s in ordered)))


def _is_env_file(name: str) -> bool:
    lower = name.lower()
    return lower.startswith(".env") or lower.endswith(".env")


def _decompressed(location: str) -> str:
    """``dist/assets/x.js.gz`` is judged as the ``x.js`` it decompresses to."""
    for suffix in COMPRESSED:
        if location.lower().endswith(suffix) and "." in location[: -len(suffix)].rsplit("/", 1)[-1]:
            return location[: -len(suffix)]
    return location


def _globs(patterns: list[str]) -> list[tuple[str, pathspec.PathSpec]]:
    if not patterns:
        return []
    return [(p, wildmatch_spec(p)) for p in patterns]


@dataclass
class Judge:
    """Judges every finding of a scan; folder lookups and file-level signals are cached."""

    config: Config = field(default_factory=Config)
    folders: FolderContext = field(default_factory=FolderContext)
    _file: tuple[str, bytes, list[Signal]] | None = None  # the last file's own signals
    _graphs: dict[str, ImportGraph] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._client_globs = _globs(self.config.client_paths)
        self._server_globs = _globs(self.config.server_paths)
        self.projects = ProjectIndex(self.folders.root_of, self.folders.shown)

    def project(self, disk: str) -> Project | None:
        """The project of the file on disk (cached per folder)."""
        folder = os.path.dirname(os.path.abspath(disk))
        if not os.path.isdir(folder):
            return None
        return self.projects.project_of(folder)

    def graph(self, project: Project) -> ImportGraph:
        """The project's import graph, built the first time a finding needs it."""
        if project.root not in self._graphs:
            from keysentry.exposure.imports import ImportGraph  # only scans that need it

            self._graphs[project.root] = ImportGraph.build(project)
        return self._graphs[project.root]

    def _location(self, path: str, fs_path: str | bytes | None) -> tuple[str, str | None]:
        """The location the rules read (relative to the project root where the file is on
        disk), and the file on disk whose folders to look at."""
        if fs_path is not None:
            disk = os.fsdecode(fs_path)
            members = path[path.index("!") :] if "!" in path else ""
            return self.folders.project_path(disk) + members, disk
        # a repo-relative path (git blobs): its folders in the work tree, if they exist here
        containers, _ = split_location(path)
        outer = containers[0] if containers else path
        folder = os.path.dirname(outer)
        if not folder or path.startswith(("<", "(")) or not os.path.isdir(folder):
            return path, None
        return path, outer

    def _file_signals(self, location: str, data: bytes) -> list[Signal]:
        """Content signals, computed once for all the keys of a window."""
        if self._file is None or self._file[0] != location or self._file[1] is not data:
            head = data[:HEAD_BYTES]
            if len(data) > HEAD_BYTES:
                head += b"\n" + data[-TAIL_BYTES:]
            self._file = (location, data, content_signals(location, head))
        return self._file[2]

    def _override_paths(self, location: str, path: str, disk: str | None) -> list[str]:
        """Globs match the path relative to the configuration's folder, to the project
        root, or as shown."""
        paths = [location, path]
        if self.config.root is not None and disk is not None:
            rel = os.path.relpath(os.path.abspath(disk), os.path.abspath(self.config.root))
            if not rel.startswith(".."):
                members = path[path.index("!") :] if "!" in path else ""
                paths.insert(0, rel.replace(os.sep, "/") + members)
        return list(dict.fromkeys(paths))

    def _overrides(self, locations: list[str]) -> list[Signal]:
        source = self.config.source or "the configuration"
        found: list[Signal] = []
        for side, globs, name in (
            (CLIENT, self._client_globs, "client_paths"),
            (SERVER, self._server_globs, "server_paths"),
        ):
            for pattern, spec in globs:
                if any(spec.match_file(loc) for loc in locations):
                    reason = f"{name} glob '{pattern}' in {source}"
                    found.append(
                        client(OVERRIDE, reason) if side == CLIENT else server(OVERRIDE - 1, reason)
                    )  # client wins when both match
                    break
        return found

    def assess(
        self, path: str, data: bytes, start: int, end: int, fs_path: str | bytes | None = None
    ) -> Exposure:
        """The verdict for a key at data[start:end] of the file shown as ``path``.

        ``fs_path`` is the file on disk holding the bytes (for an archive member, the
        archive), when there is one: it gives the folders to look in.
        """
        # the project rules: imported with the first finding (a clean scan never needs them)
        from keysentry.exposure.frameworks import key_signals, project_signals, role

        location, disk = self._location(path, fs_path)
        location = _decompressed(location)
        signals = path_signals(location)
        signals += self._file_signals(location, data)
        containers, inner = split_location(location)
        file_name = inner.rsplit("/", 1)[-1]
        ext = extension(file_name)
        project = self.project(disk) if disk is not None else None
        name = assigned_name(data, start)
        prefixed = prefix_signal(name)
        if prefixed is not None:
            signals.append(prefixed)
        elif _is_env_file(file_name) and name:
            signals.append(_unprefixed(name.decode("ascii", "replace"), project))
        minified = minified_signal(location, data, start, end)
        if minified is not None:
            signals.append(minified)
        signals += key_signals(project, file_name, ext, data, start)
        if project is not None and disk is not None:
            rel = os.path.relpath(os.path.abspath(disk), project.root).replace(os.sep, "/")
            member = inner if containers else None
            rel = _decompressed(rel)
            signals += project_signals(project, rel, member, ext, data[:HEAD_BYTES])
            decided = any(s.side == CLIENT and s.strength >= 3 for s in signals)
            hybrid = project.target in (HYBRID, "")
            if member is None and ext in JS_LIKE and hybrid and not decided:
                chained = self.graph(project).verdict(rel, role)
                if chained is not None:
                    signals.append(chained)
        signals += self._overrides(self._override_paths(location, path, disk))
        known = None
        if project is not None:
            known = (
                f"{project.label} ({project.marker}): neither the file nor its project says"
                " which side it runs on"
            )
        return decide(signals, known)


def _unprefixed(name: str, project: Project | None) -> Signal:
    """An unprefixed variable in a .env file: stronger when the project's bundler is known."""
    if project is not None and project.target in (BROWSER, HYBRID) and project.label:
        return server(
            2,
            f"unprefixed variable ({name}) in a .env file of a {project.label}"
            f" ({project.marker}): its bundler inlines only public-prefixed variables",
        )
    return server(1, f"unprefixed variable ({name}) in a .env file: bundlers do not inline it")


def assess(
    path: str, data: bytes, start: int, end: int, fs_path: str | bytes | None = None
) -> Exposure:
    """One verdict with the default configuration; a scan uses one Judge for every file."""
    return Judge().assess(path, data, start, end, fs_path)


def severity(exposure: str, confidence: str, provider: str = "deepseek") -> str:
    """critical for client exposure; high for a DeepSeek key elsewhere; medium when the
    key is attributed weakly or to another provider."""
    if exposure == CLIENT:
        return "critical"
    if provider == "deepseek" and confidence in ("high", "medium"):
        return "high"
    return "medium"
