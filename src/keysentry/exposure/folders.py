"""What the folders around a file say about where it runs, looked up once per folder.

A browser extension's manifest.json, a package.json that depends on electron, an
AndroidManifest.xml or a Flutter pubspec.yaml in the file's folder or above it
decide for every file below them. Lookups stop at the repository root (a folder
holding ``.git``) and are cached per folder, so a scan of thousands of files reads
each marker file once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from keysentry.exposure.signals import JS_LIKE, Signal, client, extension, server

MAX_MARKER_BYTES = 1024 * 1024
MAX_LEVELS = 12
ANY, JS, JVM, DART = "any", "js", "jvm", "dart"

_APP_DEPENDENCIES = (
    ("electron", "Electron app ({} depends on electron): ships to users' machines"),
    ("react-native", "React Native app ({} depends on react-native): runs on users' devices"),
    ("expo", "Expo app ({} depends on expo): runs on users' devices"),
    ("@capacitor/core", "Capacitor app ({} depends on @capacitor/core): runs on users' devices"),
)
_FRONTEND_DEPENDENCIES = (
    "vite",
    "react-scripts",
    "@vue/cli-service",
    "@angular/core",
    "react-dom",
    "vue",
    "svelte",
    "solid-js",
    "preact",
    "parcel",
    "gatsby",
)
_BACKEND_DEPENDENCIES = ("express", "fastify", "koa", "@nestjs/core", "@hapi/hapi", "restify")


@dataclass(frozen=True)
class Marked:
    """A signal from a marker file, and which files it speaks for."""

    family: str  # the nearest marker of a family wins: extension, package, android, flutter
    kinds: str
    signal: Signal


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_MARKER_BYTES)
    except OSError:
        return None


def _package_signals(raw: bytes, shown: str) -> list[Marked]:
    try:
        package = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(package, dict):
        return []
    deps: set[str] = set()
    for section in ("dependencies", "devDependencies", "peerDependencies"):
        value = package.get(section)
        if isinstance(value, dict):
            deps.update(k for k in value if isinstance(k, str))
    for name, reason in _APP_DEPENDENCIES:
        if name in deps:
            return [Marked("package", JS, client(2, reason.format(shown)))]
    frontend = [d for d in _FRONTEND_DEPENDENCIES if d in deps]
    backend = [d for d in _BACKEND_DEPENDENCIES if d in deps]
    if frontend and not backend:
        return [
            Marked(
                "package", JS, client(1, f"front-end package ({shown} depends on {frontend[0]})")
            )
        ]
    if backend and not frontend:
        return [
            Marked("package", JS, server(1, f"back-end package ({shown} depends on {backend[0]})"))
        ]
    return []


def folder_signals(folder: str, shown: str) -> list[Marked]:
    """The marker files in one folder (not its parents)."""
    prefix = "" if shown in ("", ".") else shown.rstrip("/") + "/"
    found: list[Marked] = []
    manifest = _read(os.path.join(folder, "manifest.json"))
    if manifest is not None and b'"manifest_version"' in manifest:
        found.append(
            Marked(
                "extension",
                ANY,
                client(
                    3,
                    f"browser extension ({prefix}manifest.json has manifest_version):"
                    " its files run in users' browsers",
                ),
            )
        )
    package = _read(os.path.join(folder, "package.json"))
    if package is not None:
        found += _package_signals(package, f"{prefix}package.json")
    if os.path.isfile(os.path.join(folder, "AndroidManifest.xml")):
        found.append(
            Marked(
                "android",
                JVM,
                client(3, f"Android app ({prefix}AndroidManifest.xml): runs on users' devices"),
            )
        )
    pubspec = _read(os.path.join(folder, "pubspec.yaml"))
    if pubspec is not None and b"flutter:" in pubspec:
        found.append(
            Marked(
                "flutter",
                DART,
                client(3, f"Flutter app ({prefix}pubspec.yaml): runs on users' devices"),
            )
        )
    return found


def _kind_of(name: str) -> str:
    ext = extension(name)
    if ext in JS_LIKE:
        return JS
    if ext in ("java", "kt"):
        return JVM
    if ext == "dart":
        return DART
    return ""


@dataclass
class FolderContext:
    """Cached lookups of marker files and the project root, per folder."""

    cwd: str = field(default_factory=os.getcwd)
    _roots: dict[str, str | None] = field(default_factory=dict)
    _markers: dict[str, list[Marked]] = field(default_factory=dict)
    _inherited: dict[str, list[Marked]] = field(default_factory=dict)

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

    def _shown(self, folder: str) -> str:
        base = self.root_of(folder) or self.cwd
        rel = os.path.relpath(folder, base)
        return folder if rel.startswith("..") else rel.replace(os.sep, "/")

    def _markers_in(self, folder: str) -> list[Marked]:
        if folder not in self._markers:
            self._markers[folder] = folder_signals(folder, self._shown(folder))
        return self._markers[folder]

    def _up(self, folder: str, level: int = 0) -> list[Marked]:
        """Markers at folder and above; the nearest of each family wins."""
        if folder not in self._inherited:
            own = self._markers_in(folder)
            parent = os.path.dirname(folder)
            above: list[Marked] = []
            if level < MAX_LEVELS and parent != folder and self.root_of(folder) != folder:
                above = self._up(parent, level + 1)
            families = {m.family for m in own}
            self._inherited[folder] = own + [m for m in above if m.family not in families]
        return self._inherited[folder]

    def signals(self, fs_path: str) -> list[Signal]:
        """The marker signals that speak for the file at fs_path."""
        folder = os.path.dirname(os.path.abspath(fs_path))
        if not os.path.isdir(folder):
            return []
        kind = _kind_of(os.path.basename(fs_path))
        return [m.signal for m in self._up(folder) if m.kinds in (ANY, kind)]
