"""Where a finding lives, in the terms CI formats speak: a repository file, an archive
member inside one, a commit.

Sources name a location in one string (``dist/app.zip!static/main.js``) and git
sources add a ``HistoryPlacement``; CI systems want the file in the repository, a line
in it, and the commit apart.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keysentry.model.target import MEMBER_LAYERS, MEMBER_SEPARATOR, STREAM_LAYERS, SourceKind
from keysentry.model.text import escape_text

if TYPE_CHECKING:
    from keysentry.model.finding import Finding

# Where a CI format points a finding that lives in no file (a commit or tag message, a blob no
# commit names): a pseudo-artifact under .git/, a path git never tracks, so it cannot be
# mistaken for (or collide with) a file, and it is the same on every run for the same object.
PSEUDO_ROOT = ".git/keysentry"

# folders whose files a build writes (exposure/paths.py judges which of them ship to clients)
BUILD_FOLDERS = frozenset(
    {"dist", "build", "out", ".next", ".nuxt", ".output", ".svelte-kit", "storybook-static"}
)
# a content hash in a built file's name: ``main-VEBWV24M.js``, ``app.3f9a1c2e.css``
_NAME_HASH = re.compile(r"(?<=[-.])[A-Za-z0-9_]{8,64}(?=\.)")


def in_build_folder(path: str) -> bool:
    """Whether a path (``dist/assets/a.js``, ``web/build/x.js``) lies in build output."""
    outer = path.split(MEMBER_SEPARATOR, 1)[0]
    return any(part in BUILD_FOLDERS for part in outer.lower().split("/")[:-1])


def _is_hash(token: str) -> bool:
    return any(c.isdigit() for c in token) or any(c.isupper() for c in token[1:])


def stable_path(path: str) -> str:
    """A build file's path without the content hash its name gets on every build
    (``dist/assets/main-VEBWV24M.js`` -> ``dist/assets/main-*.js``); other paths as they are."""
    if not in_build_folder(path):
        return path
    parts = path.split(MEMBER_SEPARATOR)
    folder, _, name = parts[0].rpartition("/")
    name = _NAME_HASH.sub(lambda m: "*" if _is_hash(m.group()) else m.group(), name)
    parts[0] = f"{folder}/{name}" if folder else name
    return MEMBER_SEPARATOR.join(parts)


@dataclass(frozen=True)
class Where:
    """``file`` is the repository path a CI system can point at (None: no file, e.g.
    standard input or a commit message); ``member`` the path inside that file when the
    key sits in an archive member, where ``line``/``column`` belong to the member."""

    file: str | None
    member: str | None
    line: int
    column: int
    commit: str | None
    display: str  # the path as one string (``a.zip!b.js``), for humans
    unpacked: bool = False  # found in decompressed content: line and column are not the file's
    pseudo: str | None = None  # for no file: the pseudo-artifact (see PSEUDO_ROOT)

    @property
    def artifact(self) -> str:
        """What a CI format's location points at: the file, else the pseudo-artifact."""
        return self.file if self.file is not None else (self.pseudo or self.display)

    @property
    def label(self) -> str:
        """``path:line:column``, and the commit when there is one."""
        text = f"{self.display}:{self.line}:{self.column}"
        return f"{text} in commit {self.commit[:12]}" if self.commit else text

    @property
    def has_region(self) -> bool:
        """Whether line and column point into ``file`` itself."""
        return self.file is not None and self.member is None and not self.unpacked

    @property
    def has_artifact_region(self) -> bool:
        """Whether line and column point into ``artifact`` (a file, or a message's text)."""
        return self.has_region or (self.file is None and not self.unpacked)


def split_member(finding: Finding, path: str) -> tuple[str, str | None]:
    """``a.zip!b/c.js`` -> (``a.zip``, ``b/c.js``). Each archive layer the key was found
    through (``decoded_from``: zip, tar, asar) added one ``!`` to the path; any other ``!``
    belongs to a file name."""
    levels = sum(1 for layer in finding.decoded_from if layer in MEMBER_LAYERS)
    if levels == 0:
        return path, None
    parts = path.split(MEMBER_SEPARATOR)
    cut = max(1, len(parts) - levels)
    return MEMBER_SEPARATOR.join(parts[:cut]), MEMBER_SEPARATOR.join(parts[cut:]) or None


def _names_no_file(finding: Finding, path: str) -> bool:
    """``<stdin>``, ``(commit message)``, ``(blob …)``: a location with no file to point at."""
    if finding.source.is_message:
        return True
    return (path[:1], path[-1:]) in (("<", ">"), ("(", ")"))


def _pseudo_artifact(finding: Finding) -> str | None:
    """``.git/keysentry/commit-message/<sha>``, ``…/tag-message/<tag>``, ``…/blob/<sha>``."""
    placed = finding.history
    if finding.source is SourceKind.COMMIT_MESSAGE and placed and placed.commit:
        return f"{PSEUDO_ROOT}/commit-message/{placed.commit}"
    if finding.source is SourceKind.TAG_MESSAGE and placed and (placed.tag or placed.commit):
        return f"{PSEUDO_ROOT}/tag-message/{placed.tag or placed.commit}"
    if placed is not None and placed.blob:
        return f"{PSEUDO_ROOT}/blob/{placed.blob}"
    return None


def locate(finding: Finding) -> Where:
    unpacked = any(layer in STREAM_LAYERS for layer in finding.decoded_from)
    if finding.site is not None:  # a deployed site's response: the URL is the file
        url = finding.site.url
        return Where(url, None, finding.line, finding.column, None, url, unpacked)
    commit = finding.history.commit if finding.history is not None else None
    path = finding.path
    pseudo = None
    if _names_no_file(finding, path):
        file, member = None, None
        pseudo = _pseudo_artifact(finding)
    else:
        file, member = split_member(finding, path)
    return Where(file, member, finding.line, finding.column, commit, path, unpacked, pseudo)


def original_place(finding: Finding) -> str | None:
    """``src/App.jsx:12``: the source file a bundle or map key came from (its source map
    says), as a path beside the scanned file's folder; None when no map named one.

    ``original_source`` is relative to the folder of the file the key was found in (the
    map, or the bundle whose map placed it); URLs such as ``webpack://app/./src/a.js``
    keep their path part (``app/src/a.js``).
    """
    source = finding.original_source
    if not source:
        return None
    if "://" in source:
        source = posixpath.normpath(source.split("://", 1)[1].lstrip("/"))
    else:
        outer, _ = split_member(finding, finding.path)
        source = posixpath.normpath(posixpath.join(posixpath.dirname(outer), source))
    line = f":{finding.original_line}" if finding.original_line else ""
    return escape_text(source) + line
