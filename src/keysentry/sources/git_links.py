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
_WHOLE_TREE = re.compile(rb"(?:[0-7]{5,6} [^\0]*\0.{20})*", re.S)
_HEADER_LINK = re.compile(rb"^(tree|parent|object) ([0-9a-f]{40})$", re.M)
GITLINK = b"160000"  # a submodule's commit: another repository's object
BLOB_MODES = (b"100644", b"100755", b"120000", b"100664")  # files and symbolic links


class Links:
    """The objects a stream held, and the objects they name (20-byte ids)."""

    def __init__(self) -> None:
        self.held: set[bytes] = set()
        self.named: set[bytes] = set()
        self.followed = True  # False: an object this parser could not read through
        # the graph, for placing keys without git (HistoryRepository.use_graph)
        self.parents: dict[bytes, list[bytes]] = {}  # commit -> its parents
        self.root: dict[bytes, bytes] = {}  # commit -> its tree
        self.tagged: dict[bytes, bytes] = {}  # tag -> the object it names
        self.trees: dict[bytes, bytes] = {}  # tree -> its content
        self._last = b""  # the object being added

    def add(self, oid: str, kind: str, content: bytes = b"") -> None:
        """One object of the stream; content: a tree's, or a commit's or tag's header."""
        try:
            self._last = bytes.fromhex(oid)
            self.held.add(self._last)
        except ValueError:
            self.followed = False
            return
        if kind == "tree":
            self.trees[self._last] = content
            self._tree(content)
        elif kind in ("commit", "tag"):
            links = [(word, bytes.fromhex(m.decode())) for word, m in _HEADER_LINK.findall(content)]
            self.named.update(oid for _, oid in links)
            if kind == "tag":
                self.tagged[self._last] = links[0][1] if links else b""
            else:
                self.parents[self._last] = [oid for word, oid in links if word == b"parent"]
                self.root[self._last] = next((o for w, o in links if w == b"tree"), b"")

    def _tree(self, content: bytes) -> None:
        if _WHOLE_TREE.fullmatch(content) is None:  # not a tree as git writes it
            self.followed = False
            return
        self.named.update(oid for mode, oid in _TREE_ENTRY.findall(content) if mode != GITLINK)

    def none_missing(self, starts: Iterable[bytes]) -> bool:
        """Whether every object named here or by a start (refs, HEAD, reflogs) is held."""
        return self.followed and self.named.issubset(self.held) and self.held.issuperset(starts)

    # --- the graph (only once none_missing said the store is whole) -------------------

    def topological(self) -> list[tuple[str, list[str]]]:
        """Every commit with its parents, parents first (``rev-list --topo-order
        --parents --reverse``, over every commit held rather than only those refs reach:
        a ref reaches the same commits either way)."""
        order: list[tuple[str, list[str]]] = []
        done: set[bytes] = set()
        for start in sorted(self.parents):
            stack = [(start, False)]
            while stack:
                commit, expanded = stack.pop()
                if commit in done:
                    continue
                parents = self.parents.get(commit, [])
                if expanded:
                    done.add(commit)
                    order.append((commit.hex(), [p.hex() for p in parents]))
                    continue
                stack.append((commit, True))
                stack.extend((p, False) for p in parents if p not in done and p in self.parents)
        return order

    def commit_of(self, oid: bytes) -> bytes | None:
        """oid peeled to a commit (``oid^{commit}``), None when it is none."""
        for _ in range(64):
            if oid in self.parents:
                return oid
            if oid not in self.tagged:
                return None
            oid = self.tagged[oid]
        return None

    def blob_at(self, commit: bytes, path: bytes) -> str | None:
        """The blob commit's tree holds at path (``ls-tree`` of a file), else None."""
        tree = self.root.get(commit)
        parts = path.split(b"/")
        for depth, name in enumerate(parts):
            content = self.trees.get(tree or b"")
            if content is None:
                return None
            entry = tree_entry(content, name)
            if entry is None:
                return None
            mode, oid = entry
            last = depth == len(parts) - 1
            if last:
                return oid.hex() if mode in BLOB_MODES else None
            tree = oid
        return None


def tree_entry(content: bytes, name: bytes) -> tuple[bytes, bytes] | None:
    """(mode, 20-byte id) of the entry named name in a tree's content, else None."""
    for entry in _NAMED_ENTRY.finditer(content):
        if entry.group(2) == name:
            return entry.group(1), entry.group(3)
    return None


_NAMED_ENTRY = re.compile(rb"([0-7]{5,6}) ([^\0]*)\0(.{20})", re.S)
