"""A key inlined into a bundle: the original file and line its source map gives for it.

After a file is scanned, each key found in the bundle's own bytes is looked up in the
map its ``//# sourceMappingURL=`` comment names (a file beside it), so every report can
say where to fix it (``Finding.original_source``/``original_line``) and, when the
original line reads an environment variable (``import.meta.env.VITE_…``), which one
(``Finding.original_variable``). Best effort: a missing or broken map changes nothing.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from keysentry.model.finding import Finding
from keysentry.model.key import redact_text
from keysentry.model.target import SourceKind

if TYPE_CHECKING:
    from keysentry.decoders.sourcemap_mappings import OriginalPosition

TAIL_BYTES = 8 * 1024  # the comment is the bundle's last line
_MAP_URL = re.compile(rb"[#@][ \t]*sourceMappingURL=([^\s'\"*]+)")
# what bundlers replace at build time: import.meta.env.NAME, process.env.NAME, env["NAME"]
_ENV_READ = re.compile(
    r"(?:import\.meta\.env|process\.env)(?:\.([A-Za-z_]\w*)|\[\s*['\"]([A-Za-z_]\w*)['\"]\s*\])"
)


def env_variable(line: str | None) -> str | None:
    """The environment variable an original line reads, if it reads one."""
    match = _ENV_READ.search(line or "")
    return (match.group(1) or match.group(2)) if match else None


def _map_url(fs_path: bytes) -> str | None:
    try:
        with open(fs_path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read(TAIL_BYTES)
    except OSError:
        return None
    found = _MAP_URL.findall(tail)
    if not found or found[-1].startswith(b"data:"):
        return None  # inline maps: the sourcesContent decoder already reads them
    return found[-1].decode("utf-8", "replace")


def bundle_keys(findings: list[Finding]) -> list[Finding]:
    """The findings in a bundle's own bytes (not decoded, not already placed by a map)."""
    return [f for f in findings if f.original_source is None and not f.decoded_from]


def place(findings: list[Finding], positions: list[OriginalPosition | None], map_url: str) -> None:
    """Fill ``original_source``/``original_line``/``original_variable`` of a bundle's keys
    from where its map places them (``positions``, one per finding); ``map_url`` is the
    map's URL relative to the bundle (or absolute, on another origin)."""
    from keysentry.decoders.sourcemap_mappings import relative_to_bundle

    for finding, position in zip(findings, positions, strict=True):
        if position is None:
            continue
        finding.original_source = redact_text(relative_to_bundle(map_url, position.source))
        finding.original_line = position.line
        finding.original_variable = env_variable(position.content)


def place_in_sources(findings: list[Finding], fs_path: bytes) -> None:
    """Fill ``original_source``/``original_line`` of the bundle's own keys from its map."""
    keys = [f for f in bundle_keys(findings) if f.source is SourceKind.FILE]
    if not keys or fs_path.lower().endswith(b".map"):
        return
    url = _map_url(fs_path)
    if url is None or "://" in url:
        return
    # here, not above: the hook scans through this module and rarely meets a bundle
    from keysentry.decoders.sourcemap_mappings import MAX_MAP_BYTES, original_positions

    map_path = os.path.join(os.path.dirname(fs_path), os.fsencode(url))
    try:
        if os.path.getsize(map_path) > MAX_MAP_BYTES:
            return
        with open(map_path, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return
    place(keys, original_positions(text, [(f.line, f.column) for f in keys]), url)
