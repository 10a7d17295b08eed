"""Where a key found in build output comes from: the place to fix it.

A key in a bundle, a map, an archive, an image layer or a site response is fixed in the
source the build copied it from, not in the output. The evidence, best first:

1. the source map: ``original_source:original_line`` of a map or bundle finding;
2. the same key (fingerprint) in a file that is not build output: the scanned working
   tree first, then HEAD;
3. the environment variable the bundler inlined (``VITE_DEEPSEEK_API_KEY``): the
   ``.env*`` files and CI settings that define it (``GuideInput.definitions``).

Pure: findings in, places out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from keysentry.exposure.variables import PUBLIC_PREFIXES
from keysentry.guide.leaked_keys import (
    LeakedKey,
    is_current_file,
    is_history,
    is_site,
    placed,
)
from keysentry.model.finding import Finding
from keysentry.model.location import in_build_folder, original_place
from keysentry.model.target import MEMBER_SEPARATOR
from keysentry.model.text import escape_text

_PUBLIC_NAME = re.compile(
    r"\b((?:" + "|".join(re.escape(p) for p in PUBLIC_PREFIXES) + r")[A-Za-z0-9_]+)"
)


@dataclass(frozen=True)
class FixPlace:
    """A place to edit the key out, and the evidence that the build took it from there."""

    place: str  # printable ``path:line``
    evidence: str

    def describe(self) -> str:
        return f"{self.place}  ({self.evidence})"


def is_build_output(finding: Finding) -> bool:
    """A key in what a build or a server produced, not in a file a person edits."""
    path = finding.path
    if finding.original_source or MEMBER_SEPARATOR in path:
        return True  # a map or a mapped bundle; an archive member or image layer
    if path.startswith(("http://", "https://")):
        return True  # a site response
    return path.lower().endswith(".map") or in_build_folder(path)


def variables(findings: Iterable[Finding]) -> list[str]:
    """The environment variables a build may have inlined the key from."""
    names: dict[str, None] = {}
    for f in findings:
        if f.original_variable:
            names.setdefault(f.original_variable, None)
        for name in _PUBLIC_NAME.findall(f.snippet):
            names.setdefault(name, None)
    return list(names)


def fix_places(key: LeakedKey, definitions: Mapping[str, list[str]]) -> list[FixPlace]:
    """Where to fix a key, best evidence first; [] when it is in no build output (the
    files themselves are the places then)."""
    found: dict[str, FixPlace] = {}

    def add(place: str, evidence: str) -> None:
        found.setdefault(place, FixPlace(place, evidence))

    builds = [f for f in key.findings if is_build_output(f)]
    if not builds:
        return []
    for f in builds:
        if is_site(f):
            continue  # a site's maps name sources relative to URLs: the site step lists them
        if (source := original_place(f)) is not None:
            add(source, f"source map of {escape_text(f.path)}")
    for f in key.findings:
        if is_current_file(f) and not is_build_output(f):
            add(f"{escape_text(f.path)}:{f.line}", "the same key in a source file")
    for f in key.findings:
        if is_history(f) and placed(f).in_head and not is_build_output(f):
            add(
                f"{escape_text(f.path)}:{f.line}",
                "the same key in HEAD (committed, no longer in the working tree)",
            )
    for name in variables(key.findings):
        for place in definitions.get(name, []):
            add(place, f"defines {name}, which the bundler inlines")
    return list(found.values())


def build_output(key: LeakedKey) -> list[str]:
    """The build output in the working tree (or the scanned files) that holds the key."""
    return list(
        dict.fromkeys(
            escape_text(f.path) for f in key.findings if is_current_file(f) and is_build_output(f)
        )
    )
