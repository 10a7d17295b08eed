"""A repository's history as a source: its objects, and where each blob came from.

Reading is split by cost. :meth:`HistoryRepository.objects` streams every object
once through ``git cat-file --batch`` (all objects in the store, or the objects a
range introduced); it is the only pass that touches content. The rest runs only
for the few blobs and commits that held a key:

- :meth:`HistoryRepository.introductions`: the commits that introduced given blobs
  at each path, from one ``git log --find-object ... -c --raw`` over every commit
  the store holds (reflog entries and dangling commits included). ``-c`` lists,
  for a merge, the paths whose content differs from every parent: what the merge
  itself introduced (an evil merge), which ``git log -p`` does not show.
- :meth:`HistoryRepository.reaching_refs`: which refs reach given commits, from one
  ``git rev-list --all --topo-order --parents`` and one ``git for-each-ref``
  (linear in commits and refs, so 100,000 refs stay cheap).

Every git process is started through sources/git.py; object data comes through
git's batch protocols (sources/git_objects.py).
"""

from __future__ import annotations

import io
import itertools
import os
import subprocess
import threading
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from keysentry.sources.git import MEMORY_LIMITS, Git, GitError, Repository, failure, feed
from keysentry.sources.git_batch import read_resumable
from keysentry.sources.git_files import (
    SMALL_STORE,
    plain_head,
    plain_ref_names,
    plain_ref_oids,
    plain_sha1,
    store_size,
)
from keysentry.sources.git_links import Links
from keysentry.sources.git_objects import PIPE_SIZE, GitObject, ObjectContent, read_batch
from keysentry.sources.git_refs import RefTip, reaching_refs, ref_tips
from keysentry.sources.git_store import StoreError, read_objects, read_store, readable_store

ZERO_OID = "0" * 40
GITLINK_MODE = b"160000"
# Options that keep porcelain output machine-readable whatever the user's config says.
_LOG_ARGS = (
    "log",
    "--no-color",
    "--no-decorate",
    "--no-renames",
    "--no-ext-diff",
    "--no-textconv",
    "--no-show-signature",
    "--root",
    "-c",
    "--raw",
    "-z",
    "--no-abbrev",
    "--format=%x01%H%x00%an <%ae>%x00%aI%x00%at",
)
PART_MINIMUM = 5000  # objects below which a second cat-file process is not worth starting
FIND_OBJECTS_PER_PASS = 5000  # keeps one git log command line well under ARG_MAX


class HistoryError(Exception):
    """The history cannot be read at all (no repository, a bad revision, git failed)."""


@dataclass(frozen=True)
class Introduction:
    """A commit that put a blob at a path: it is there, and in no parent at that path."""

    commit: str
    path: bytes
    author: str
    date: str  # ISO 8601 author date
    time: int
    merge: bool = False  # a merge whose result differs from every parent at this path


@dataclass
class ObjectList:
    """Object ids (20 bytes each, in pack order), their sizes and total size."""

    oids: bytearray = field(default_factory=bytearray)
    sizes: array[int] = field(default_factory=lambda: array("Q"))
    size: int = 0

    def __len__(self) -> int:
        return len(self.oids) // 20

    def parts(self, count: int, minimum: int = PART_MINIMUM) -> list[bytes]:
        """``count`` contiguous parts of about equal bytes, as ``cat-file --batch`` input,
        each of at least ``minimum`` objects (fewer parts if need be).

        Equal bytes, not equal counts: pack order puts small commits first, and
        the part that holds them would otherwise finish long before the other.
        """
        total = len(self)
        count = max(1, min(count, total // max(minimum, 1) or 1))
        bounds, done, index = [0], 0, 0
        for part in range(1, count):
            target = self.size * part // count
            while index < total and done < target:
                done += self.sizes[index]
                index += 1
            bounds.append(index)
        bounds.append(total)
        return [
            self.oids[20 * lo : 20 * hi].hex("\n", 20).encode() + b"\n"
            for lo, hi in itertools.pairwise(bounds)
            if hi > lo
        ]


@dataclass
class Batch:
    """``cat-file --batch`` output streams, and the object ids still to be sent to them."""

    streams: list[BinaryIO]
    listed: ObjectList | None
    feeds: list[tuple[subprocess.Popen[bytes], bytes]]
    # one per stream: its objects, going on past one git cannot read (sources/git_batch.py)
    readers: list[Iterator[tuple[GitObject, ObjectContent]]] = field(default_factory=list)
    started: bool = False
    one_pass: bool = False  # one --batch-all-objects pass: it stops at an unreadable object

    @property
    def request_fds(self) -> list[int]:
        """The write ends of the requests: a forked reader must close its copies, or
        git would never see the end of its input."""
        return [proc.stdin.fileno() for proc, _ in self.feeds if proc.stdin is not None]

    def start(self) -> None:
        if not self.started:
            self.started = True
            for proc, part in self.feeds:
                threading.Thread(target=feed, args=(proc.stdin, part), daemon=True).start()


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class HistoryRepository:
    """A git repository opened for a history audit (bare, shallow and partial ones too)."""

    def __init__(self, path: str | Path, opened: Repository | None = None) -> None:
        """opened: what ``Git.repository()`` already said about path (saves asking again)."""
        try:
            repo = opened or Git(cwd=path).repository()
        except GitError as exc:
            raise HistoryError(str(exc)) from exc
        self.git_dir = repo.git_dir
        self.bare = repo.bare
        self.shallow = repo.shallow
        self.git = Git(cwd=repo.work_tree or repo.git_dir, options=MEMORY_LIMITS)
        self._tips: list[RefTip] | None = None
        self._head: tuple[str | None] | None = None
        self._small: bool | None = None
        self._graph: Links | None = None

    # --- processes -----------------------------------------------------------------

    def spawn(
        self, args: list[str], stdin: int | BinaryIO | None = None
    ) -> subprocess.Popen[bytes]:
        """A git process whose stdout the caller reads; its stderr is drained."""
        try:
            return self.git.spawn(*args, stdin=stdin)
        except GitError as exc:
            raise HistoryError(str(exc)) from exc

    def run(self, args: list[str], stdin: bytes | None = None, check: bool = True) -> bytes:
        """A git command's whole output; HistoryError with git's message when it fails."""
        try:
            return self.git.run(*args, stdin=stdin, check=check)  # no threads: poll(2)
        except GitError as exc:
            raise HistoryError(str(exc)) from exc

    # --- facts ---------------------------------------------------------------------

    def is_shallow(self) -> bool:
        return self.shallow

    def object_count(self) -> int:
        """About how many objects the store holds (for progress; duplicates may count twice)."""
        counts = dict(
            line.split(": ", 1)
            for line in self.run(["count-objects", "-v"]).decode().splitlines()
            if ": " in line
        )
        return int(counts.get("count", 0)) + int(counts.get("in-pack", 0))

    def use_graph(self, graph: Links) -> None:
        """The whole store's graph, read and followed in this process (a small store that
        misses nothing): HEAD, which refs reach what, HEAD's blobs and blob contents are
        then answered here, and only ``for-each-ref`` and ``log`` start git."""
        if not os.path.lexists(self.git_dir / "refs" / "replace"):  # git would follow those
            self._graph = graph

    def head(self) -> str | None:
        if self._head is None:
            known, named = plain_head(self.git_dir) if self._graph else (False, None)
            if known and self._graph is not None:
                commit = self._graph.commit_of(named) if named is not None else None
                self._head = (commit.hex() if commit is not None else None,)
            else:
                out = self.run(["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
                self._head = (out.strip().decode() or None,)
        return self._head[0]

    def verify_range(self, spec: str) -> list[str]:
        """rev-list arguments for a ``BASE..HEAD`` (or single) revision spec."""
        args = [spec]
        for name in spec.replace("...", "..").split(".."):
            if not name:
                continue
            if not self.run(["rev-parse", "--verify", "-q", f"{name}^{{commit}}"], check=False):
                raise HistoryError(f"{spec}: unknown revision {name!r}")
        return args

    def count_missing(self) -> int:
        """Objects that commits and trees name but the store does not hold."""
        out = self.run(
            ["rev-list", "--objects", "--all", "--reflog", "--missing=print", "--no-object-names"],
            check=False,
        )
        return sum(1 for line in out.splitlines() if line.startswith(b"?"))

    # --- content -------------------------------------------------------------------

    def object_list(self) -> ObjectList:
        """Every blob, commit and tag in the store, in pack order (trees are not needed)."""
        lister = self.spawn(
            [
                "cat-file",
                "--batch-all-objects",
                "--unordered",
                "--batch-check=%(objecttype) %(objectsize) %(objectname)",
            ]
        )
        assert lister.stdout is not None
        listed = ObjectList()
        for line in lister.stdout:
            fields = line.split()
            if len(fields) != 3:  # ``<oid> missing``: its header is corrupt; cat-file says so
                fields = [b"blob", b"0", fields[0] if fields else b""]
            kind, size, oid = fields
            if kind != b"tree":
                listed.oids += bytes.fromhex(oid.decode("ascii"))
                listed.sizes.append(int(size))
                listed.size += int(size)
        if lister.wait() != 0:
            raise HistoryError(failure(["cat-file"], lister))
        return listed

    @contextmanager
    def objects(
        self,
        revisions: list[str] | None = None,
        streams: int = 1,
        one_pass: bool = True,
        trees: bool = False,
    ) -> Iterator[Batch]:
        """Readers of every blob, commit and tag in the store, or of what revisions introduced.

        For the whole store in one stream (and one_pass), one ``git cat-file
        --batch-all-objects --batch`` reads it all: no object list first, one git
        process. That pass stops at the first object git cannot read, so its reader
        then ends with HistoryError and ``Batch.one_pass`` tells the caller to read
        again with one_pass=False, which goes on past such objects.

        Otherwise the pack-ordered object list is cut into ``streams`` contiguous
        parts, each read by its own ``git cat-file --batch``: git's decompression is
        most of the cost, and parts in pack order keep each process's delta-base
        cache useful. Nothing is sent to those processes until the caller calls
        ``Batch.start`` (after forking readers, if it forks).

        trees: the one pass yields trees too (sources/git_links.py follows them).
        """
        if revisions is None and streams == 1 and one_pass:
            with self._one_pass(trees) as batch:
                yield batch
            return
        listed = None
        if revisions is None:
            listed = self.object_list()
            parts = listed.parts(streams)
        else:
            args = ["rev-list", "--objects", "--no-object-names", "--missing=print", *revisions]
            parts = [self.run(args)]
        with self.requested(parts, listed) as batch:
            yield batch

    @contextmanager
    def requested(self, parts: list[bytes], listed: ObjectList | None = None) -> Iterator[Batch]:
        """Readers of the objects named in each part (one object id a line), one
        ``cat-file --batch`` per part, going on past objects git cannot read."""
        feeds = [(self.spawn(["cat-file", "--batch"], stdin=subprocess.PIPE), p) for p in parts]
        streams_ = [_buffered(proc) for proc, _ in feeds]
        readers = [
            read_resumable(proc, stream, part, self._restart, _stopped_reason)
            for (proc, part), stream in zip(feeds, streams_, strict=True)
        ]
        batch = Batch(streams_, listed, feeds, readers)
        try:
            yield batch
        finally:
            batch.start()  # a caller that failed early still lets git finish
            for stream in streams_:
                stream.close()
            for proc, _ in feeds:
                proc.wait()

    @contextmanager
    def _one_pass(self, trees: bool = False) -> Iterator[Batch]:
        if self.small_store() and plain_sha1(self.git_dir) and readable_store(self.git_dir):
            yield Batch([], None, [], [self._read_here(trees)], one_pass=True)
            return
        proc = self.spawn(["cat-file", "--batch-all-objects", "--batch", "--unordered"])
        stream = _buffered(proc)

        def reader() -> Iterator[tuple[GitObject, ObjectContent]]:
            for obj, content in read_batch(stream):
                if trees or obj.kind != "tree":  # else trees are skipped unread
                    yield obj, content
            if proc.wait() != 0:
                raise HistoryError(failure(["cat-file"], proc))

        batch = Batch([stream], None, [], [reader()], one_pass=True)
        try:
            yield batch
        finally:
            stream.close()
            proc.wait()

    def _read_here(self, trees: bool) -> Iterator[tuple[GitObject, ObjectContent]]:
        """The one pass without a process (sources/git_store.py); what it does not follow
        ends it with HistoryError, and the caller reads again through git."""
        try:
            for obj, content in read_store(self.git_dir):
                if trees or obj.kind != "tree":
                    yield obj, content
        except (StoreError, OSError) as exc:
            raise HistoryError(f"reading the object store: {exc}") from exc

    def _restart(self, requests: bytes) -> tuple[subprocess.Popen[bytes], BinaryIO]:
        """A new ``cat-file --batch`` for the requests after an object git stopped at."""
        proc = self.spawn(["cat-file", "--batch"], stdin=subprocess.PIPE)
        threading.Thread(target=feed, args=(proc.stdin, requests), daemon=True).start()
        return proc, _buffered(proc)

    def blobs(self, oids: Iterable[str]) -> Iterator[tuple[GitObject, ObjectContent]]:
        """Given objects, streamed in the order given."""
        oids = list(oids)
        if self._graph is not None:
            try:
                yield from list(read_objects(self.git_dir, oids))
                return
            except (StoreError, OSError):
                pass  # git reads them
        wanted = "".join(f"{oid}\n" for oid in oids).encode()
        proc = self.spawn(["cat-file", "--batch"], stdin=subprocess.PIPE)
        feeder = threading.Thread(target=feed, args=(proc.stdin, wanted), daemon=True)
        feeder.start()
        assert proc.stdout is not None
        try:
            yield from read_batch(proc.stdout)
        finally:
            proc.stdout.close()
            feeder.join()
            proc.wait()

    # --- where blobs came from -------------------------------------------------------

    def introductions(
        self, blobs: set[str], commits: list[bytes] | None, revisions: list[str] | None = None
    ) -> dict[str, list[Introduction]]:
        """For each blob, every (commit, path) that introduced it, oldest first.

        Walks the given commits (all the store holds) or the revisions (a range).
        """
        found: dict[str, list[Introduction]] = {oid: [] for oid in blobs}
        ordered = sorted(blobs)
        for start in range(0, len(ordered), FIND_OBJECTS_PER_PASS):
            chunk = ordered[start : start + FIND_OBJECTS_PER_PASS]
            args = [*_LOG_ARGS, *(f"--find-object={oid}" for oid in chunk)]
            if commits is not None:
                out = self.run([*args, "--stdin"], stdin=b"\n".join(commits) + b"\n")
            else:
                out = self.run([*args, *(revisions or []), "--"])
            for intro, oid in _parse_log(out):
                if oid in found:
                    found[oid].append(intro)
        for intros in found.values():
            intros.sort(key=lambda i: (i.time, i.commit, i.path))
        return found

    def index_paths(self, blobs: set[str]) -> dict[str, list[bytes]]:
        """Paths at which the index (staged, never committed) holds given blobs."""
        if self.bare or not blobs:
            return {}
        out = self.run(["ls-files", "-s", "-z"], check=False)
        found: dict[str, list[bytes]] = {}
        for entry in out.split(b"\0"):
            meta, _, path = entry.partition(b"\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1].decode() in blobs:
                found.setdefault(parts[1].decode(), []).append(path)
        return found

    def head_blobs(self, paths: Iterable[bytes]) -> dict[bytes, str]:
        """The blob HEAD's tree holds at each of the given paths."""
        wanted = sorted(set(paths))
        head = self.head()
        if not wanted or head is None:
            return {}
        found: dict[bytes, str] = {}
        if self._graph is not None:
            for path in wanted:
                blob = self._graph.blob_at(bytes.fromhex(head), path)
                if blob is not None:
                    found[path] = blob
            return found
        for start in range(0, len(wanted), 500):
            chunk = [_decode(p) for p in wanted[start : start + 500]]
            out = self.run(
                ["--literal-pathspecs", "ls-tree", "-r", "-z", "--full-tree", "HEAD", "--", *chunk],
                check=False,
            )
            for entry in out.split(b"\0"):
                meta, _, path = entry.partition(b"\t")
                parts = meta.split()
                if len(parts) == 3 and parts[1] == b"blob":
                    found[path] = parts[2].decode()
        return found

    # --- which refs reach what (sources/git_refs.py) ------------------------------------

    def ref_names(self) -> list[str]:
        """Every ref's name as git has it (surrogate-escaped): from the ref files where
        they are plain (no process), else from ``for-each-ref``."""
        listed = plain_ref_names(self.git_dir)
        if listed is None:
            return [tip.raw for tip in self.ref_tips()]
        return [name.decode("utf-8", "surrogateescape") for name in listed]

    def small_store(self) -> bool:
        """At most SMALL_STORE bytes of objects on disk: read and followed in this process
        (a process costs more than Python's work on it; above, the reverse)."""
        if self._small is None:
            self._small = store_size(self.git_dir) <= SMALL_STORE
        return self._small

    def link_starts(self) -> list[bytes] | None:
        """What refs, HEAD and reflogs name, where a small store's stream can tell that no
        object is missing (sources/git_links.py); None: ask ``rev-list`` (count_missing)."""
        return plain_ref_oids(self.git_dir) if self.small_store() else None

    def ref_tips(self) -> list[RefTip]:
        if self._tips is None:  # asked by the ref-name scan and by attribution
            self._tips = ref_tips(self.run)
        return self._tips

    def reaching_refs(self, targets: Iterable[str], tips: list[RefTip]) -> dict[str, list[str]]:
        graph = self._graph.topological() if self._graph is not None else None
        return reaching_refs(self.run, targets, tips, self.head(), graph)


def _stopped_reason(proc: subprocess.Popen[bytes]) -> str:
    return failure(["cat-file"], proc)


def _buffered(proc: subprocess.Popen[bytes]) -> BinaryIO:
    """The process's stdout behind a 1 MiB buffer: one system call per many small objects
    (each call releases and retakes the GIL, a wait when another stream's thread runs)."""
    assert proc.stdout is not None
    return io.BufferedReader(proc.stdout.raw, PIPE_SIZE)  # type: ignore[attr-defined]


def _parse_log(out: bytes) -> Iterator[tuple[Introduction, str]]:
    """(introduction, blob) for every added or changed path of ``_LOG_ARGS`` output."""
    for record in out.split(b"\x01")[1:]:
        fields = record.split(b"\0")
        commit, author, date, when = (f.decode("utf-8", "replace") for f in fields[:4])
        when = when.strip()
        items = iter(fields[4:])
        for item in items:
            item = item.lstrip(b"\n")
            if not item.startswith(b":"):
                continue
            path = next(items, b"")
            parents = len(item) - len(item.lstrip(b":"))
            meta = item[parents:].split(b" ")
            new_mode, new_oid = meta[parents], meta[2 * parents + 1].decode("ascii")
            if new_oid == ZERO_OID or new_mode == GITLINK_MODE:
                continue
            intro = Introduction(commit, path, author, date, int(when or 0), parents > 1)
            yield intro, new_oid
