"""Which objects a store's objects name: telling, without ``git rev-list``, that none is missing.

``keysentry history`` reports the objects that commits and trees name but the store
lacks (``git rev-list --objects --all --reflog --missing=print``, a process of its
own, a tenth of what a small repository's audit costs). When a small store is read
whole in one ``cat-file`` stream, the answer is in the stream: the objects each one
names (a commit's tree and parents, a tag's object, a tree's entries but submodule
commits) and what refs, HEAD and reflogs name (sources/git_files.py), against the
objects the store holds. rev-list only ever meets objects named that way, so when
every one of them is held, nothing is missing; otherwise (a damaged, shallow or
partial store, or a tree this parser does not follow) git counts them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_TREE_ENTRY = re.compile(rb"([0-7]{5,6}) [^\0]*\0(.{20})", re.S)
_HEADER_LINK = re.compile(rb"^(?:tree|parent|object) ([0-9a-f]{40})$", re.M)
GITLINK = b"160000"  # a submodule's commit: another repository's object


class Links:
    """The objects a stream held, and the objects they name (20-byte ids)."""

    def __init__(self) -> None:
        self.held: set[bytes] = set()
        self.named: set[bytes] = set()
        self.followed = True  # False: an object this parser could not read through

    def add(self, oid: str, kind: str, content: bytes = b"") -> None:
        """One object of the stream; content: a tree's, or a commit's or tag's header."""
        try:
            self.held.add(bytes.fromhex(oid))
        except ValueError:
            self.followed = False
            return
        if kind == "tree":
            self._tree(content)
        elif kind in ("commit", "tag"):
            self.named.update(bytes.fromhex(m.decode()) for m in _HEADER_LINK.findall(content))

    def _tree(self, content: bytes) -> None:
        at = 0
        for entry in _TREE_ENTRY.finditer(content):
            if entry.start() != at:  # not a tree as git writes it
                self.followed = False
                return
            at = entry.end()
            if entry.group(1) != GITLINK:
                self.named.add(entry.group(2))
        if at != len(content):
            self.followed = False

    def none_missing(self, starts: Iterable[bytes]) -> bool:
        """Whether every object named here or by a start (refs, HEAD, reflogs) is held."""
        return self.followed and self.named.issubset(self.held) and self.held.issuperset(starts)
