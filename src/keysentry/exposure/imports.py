"""Who imports a module, inside its project: a key's module is client code when client
code imports it, directly or through re-exports.

Built lazily, once per project and only for projects with a finding that needs it: the
project's JS/TS files are listed (nested projects, ``node_modules`` and build output
left out) and only their import/require/export-from statements are read, from each
file's first ``HEAD_BYTES``. Relative specifiers, ``@/``/``~/`` and ``$lib/`` aliases
and ``tsconfig.json`` ``paths`` are resolved.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from keysentry.exposure.projects import Project
from keysentry.exposure.signals import CLIENT, JS_LIKE, Signal, client, extension, server
from keysentry.model.pattern import lazy

HEAD_BYTES = 32 * 1024  # import statements come first
MAX_FILES = 10_000
MAX_BYTES = 64 << 20  # what one project's graph may read in all
MAX_FOLDERS = 5_000
MAX_VISITS = 2_000
_SKIP = frozenset(
    {
        "node_modules",
        ".git",
        "dist",
        "build",
        "out",
        ".next",
        ".nuxt",
        ".output",
        ".svelte-kit",
        "coverage",
        ".turbo",
        ".vercel",
        ".netlify",
    }
)
_SPECIFIER = lazy(
    rb"""(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*|\bexport\s*\*\s*from\s*)["']([^"'\n]{1,300})["']"""
)
_SUFFIXES = (
    "",
    ".ts",
    ".tsx",
    ".js",
    ".jsx",
    ".mjs",
    ".cjs",
    ".mts",
    ".vue",
    ".svelte",
    "/index.ts",
    "/index.tsx",
    "/index.js",
    "/index.jsx",
)
_PROJECT_MARKERS = ("package.json", "deno.json")

Role = Callable[[Project, str, bytes], "tuple[str, str] | None"]


def _aliases(root: str) -> list[tuple[str, str]]:
    """``(prefix, folder)`` pairs: tsconfig/jsconfig paths, then the usual defaults."""
    found: list[tuple[str, str]] = []
    for name in ("tsconfig.json", "jsconfig.json"):
        try:
            with open(os.path.join(root, name), "rb") as handle:
                import json  # here: most folders have no tsconfig, and json's import is not free

                config = json.loads(handle.read(HEAD_BYTES))
        except (OSError, ValueError):
            continue
        options = config.get("compilerOptions") if isinstance(config, dict) else None
        paths = options.get("paths") if isinstance(options, dict) else None
        base = options.get("baseUrl", ".") if isinstance(options, dict) else "."
        if isinstance(paths, dict):
            for pattern, targets in paths.items():
                if isinstance(targets, list) and targets and isinstance(targets[0], str):
                    prefix = pattern.removesuffix("*")
                    folder = os.path.normpath(os.path.join(str(base), targets[0].removesuffix("*")))
                    found.append((prefix, folder.replace(os.sep, "/")))
        break
    found += [("@/", "src"), ("~/", "src"), ("@/", "."), ("~/", "."), ("$lib/", "src/lib")]
    return found


@dataclass
class ImportGraph:
    """The reverse import edges of one project's JS/TS files (paths relative to its root)."""

    project: Project
    importers: dict[str, list[str]] = field(default_factory=dict)
    heads: dict[str, bytes] = field(default_factory=dict)
    files: int = 0

    @classmethod
    def build(cls, project: Project) -> ImportGraph:
        graph = cls(project)
        root = project.root
        known: set[str] = set()
        for visited, (folder, dirs, names) in enumerate(os.walk(root)):
            if visited >= MAX_FOLDERS:
                break
            rel_folder = os.path.relpath(folder, root).replace(os.sep, "/")
            rel_folder = "" if rel_folder == "." else rel_folder + "/"
            dirs[:] = [
                d
                for d in dirs
                if d not in _SKIP
                and not any(os.path.exists(os.path.join(folder, d, m)) for m in _PROJECT_MARKERS)
            ]
            for name in names:
                if extension(name) in JS_LIKE:
                    known.add(rel_folder + name)
            if len(known) >= MAX_FILES:
                break
        aliases = _aliases(root)
        budget = MAX_BYTES
        for rel in sorted(known):
            if budget <= 0:
                break
            try:
                with open(os.path.join(root, rel), "rb") as handle:
                    head = handle.read(HEAD_BYTES)
            except OSError:
                continue
            budget -= len(head)
            graph.heads[rel] = head
            for raw in dict.fromkeys(_SPECIFIER.findall(head)):
                target = _resolve(rel, raw.decode("utf-8", "replace"), aliases, known)
                if target is not None and target != rel:
                    graph.importers.setdefault(target, []).append(rel)
        graph.files = len(known)
        return graph

    def verdict(self, rel: str, role: Role) -> Signal | None:
        """Client when some chain of importers reaches client code; server when importers
        exist and every chain ends in server code."""
        parents: dict[str, str] = {}
        queue = deque([rel])
        server_end: tuple[str, str] | None = None
        visits = 0
        while queue and visits < MAX_VISITS:
            current = queue.popleft()
            for importer in self.importers.get(current, ()):
                if importer in parents or importer == rel:
                    continue
                visits += 1
                parents[importer] = current
                said = role(self.project, importer, self.heads.get(importer, b""))
                if said is None:
                    queue.append(importer)
                    continue
                side, why = said
                if side == CLIENT:
                    return client(
                        3, f"imported by client code: {self._chain(importer, parents, rel)} ({why})"
                    )
                if server_end is None:
                    server_end = (importer, why)
        if server_end is not None and not queue:
            importer, why = server_end
            return server(
                2, f"imported only by server code: {self._chain(importer, parents, rel)} ({why})"
            )
        return None

    def _chain(self, end: str, parents: dict[str, str], start: str) -> str:
        chain = [end]
        while chain[-1] != start:
            chain.append(parents[chain[-1]])
        return " ← ".join(self.project.shown + p for p in reversed(chain))


def _resolve(rel: str, spec: str, aliases: list[tuple[str, str]], known: set[str]) -> str | None:
    if spec.startswith("."):
        base = os.path.normpath(os.path.join(os.path.dirname(rel), spec)).replace(os.sep, "/")
        candidates = [base]
    else:
        candidates = []
        for prefix, folder in aliases:
            if spec.startswith(prefix):
                joined = os.path.normpath(os.path.join(folder, spec[len(prefix) :]))
                candidates.append(joined.replace(os.sep, "/"))
        if not candidates:
            return None
    for base in candidates:
        if base.startswith("../"):
            continue
        for suffix in _SUFFIXES:
            if base + suffix in known:
                return base + suffix
        stem, dot, _ = base.rpartition(".")
        if dot and stem:  # "./x.js" written for x.ts
            for suffix in (".ts", ".tsx", ".mts"):
                if stem + suffix in known:
                    return stem + suffix
    return None
