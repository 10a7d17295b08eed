"""Where a run of bytes is: the value every source yields and every stage passes on."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from keysentry.model.key import redact_text
from keysentry.model.text import escape_text

# ``outer.zip!inner/a.js``: one ``!`` for each archive layer (a ``!`` in a file name is escaped
# by nothing; layers are counted from ``Finding.decoded_from``)
MEMBER_SEPARATOR = "!"
# layers that open members (each adds one MEMBER_SEPARATOR) and layers that decode one stream
MEMBER_LAYERS = frozenset({"zip", "tar", "asar"})
STREAM_LAYERS = frozenset({"gzip", "brotli", "xz", "bzip2", "zstd"})


class SourceKind(str, Enum):
    """What kind of place the bytes came from; the value is what reports say."""

    FILE = "file"
    STDIN = "stdin"
    STAGED = "staged"
    BLOB = "blob"
    COMMIT_MESSAGE = "commit-message"
    TAG_MESSAGE = "tag-message"
    SITE = "site"  # a response of a deployed web site (``keysentry site``)
    NAME = "name"  # the key is in a file, folder, archive member or ref name (engine/names.py)

    def __str__(self) -> str:
        return self.value

    @property
    def is_history(self) -> bool:
        return self in HISTORY_SOURCES

    @property
    def is_message(self) -> bool:
        return self in (SourceKind.COMMIT_MESSAGE, SourceKind.TAG_MESSAGE)


HISTORY_SOURCES = frozenset({SourceKind.BLOB, SourceKind.COMMIT_MESSAGE, SourceKind.TAG_MESSAGE})
STDIN_PATH = "<stdin>"
COMMIT_MESSAGE_PATH = "(commit message)"
TAG_MESSAGE_PATH = "(tag message)"


@dataclass(frozen=True)
class ScanTarget:
    """Where these bytes are.

    ``path`` is what reports show (``dist/app.zip!static/a.js``, ``(commit message)``);
    ``fs_path`` the file on disk that holds them (for an archive member, the archive), when
    there is one: exposure reads the folders around it; ``members`` the archive member chain
    inside that file, outermost first.
    """

    path: str
    source: SourceKind = SourceKind.FILE
    fs_path: str | bytes | None = None
    members: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # what reports show never holds a key, whatever the names hold
        object.__setattr__(self, "path", redact_text(self.path))
        object.__setattr__(self, "members", tuple(redact_text(m) for m in self.members))

    def member(self, name: str) -> ScanTarget:
        """The target of one member of the archive at this target (its name made printable)."""
        shown = escape_text(name)
        return replace(
            self, path=f"{self.path}{MEMBER_SEPARATOR}{shown}", members=(*self.members, shown)
        )
