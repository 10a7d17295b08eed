"""A signal: which side (client or server) a clue points to, how strongly, and why.

Strengths: 3 decisive (a public build-time prefix, an app package, an extension,
"use client"), 2 strong (shipped folders, bundler output, front-end imports, back-end
files and tools), 1 weak (a build-output folder name alone, browser globals, an
unprefixed .env variable). The project's own globs (client_paths, server_paths) beat
them all.
"""

from __future__ import annotations

from dataclasses import dataclass

CLIENT = "client"
SERVER = "server"
WEB_ASSETS = frozenset(
    {"js", "mjs", "cjs", "css", "html", "htm", "map", "json", "svg", "wasm", "webmanifest"}
)
JS_LIKE = frozenset({"js", "mjs", "cjs", "jsx", "ts", "tsx", "mts", "cts", "vue", "svelte"})


@dataclass(frozen=True)
class Signal:
    side: str
    strength: int
    reason: str


def client(strength: int, reason: str) -> Signal:
    return Signal(CLIENT, strength, reason)


def server(strength: int, reason: str) -> Signal:
    return Signal(SERVER, strength, reason)


def extension(name: str) -> str:
    """The lower-case extension of a file name ('' for none, and for ``.env``)."""
    return name.rsplit(".", 1)[-1].lower() if "." in name.lstrip(".") else ""


def split_location(location: str) -> tuple[list[str], str]:
    """Archive containers and the innermost path: ``a.zip!b.apk!res/x.xml``."""
    parts = location.replace("\\", "/").split("!")
    return parts[:-1], parts[-1]
