"""Staged content: the blobs the index holds for the paths a commit would change.

What a commit will contain is the index, not the working tree, so this source
never opens a work-tree file. One ``git diff --cached --raw -z`` lists the
staged entries (it also handles an unborn branch, where there is no HEAD to
compare with) and one ``git cat-file --batch`` streams every blob, each in
bounded memory (read through :mod:`keysentry.sources.git_objects`). The same
``cat-file`` then answers the hook's follow-up question (is a staged key already in
HEAD or on a remote-tracking branch?), and the ``rev-parse`` that finds the work tree
also lists the remote-tracking branches: a blocked commit costs three git processes.

git runs through :mod:`keysentry.sources.git` (the standard library only): every
commit pays for the hook's start-up, and importing GitPython alone (~75 ms, plus a
``git version`` it runs at import) would cost more than the whole staged scan; see
docs/performance.md.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import BinaryIO

from keysentry.sources.git import Git, GitError, Started, feed
from keysentry.sources.git_objects import ObjectContent, finish_object, next_object

GITLINK_MODE = "160000"  # a submodule's commit: its files belong to the submodule
ADDED_OR_CHANGED = "ACMRT"

# Flags that keep the porcelain ``git diff`` machine-readable whatever the user's
# config says (diff.relative, diff.external, diff.renames, color.diff, core.abbrev).
_DIFF_ARGS = (
    "diff",
    "--cached",
    "--raw",
    "-z",
    "--no-abbrev",
    "--no-renames",
    "--no-relative",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--ignore-submodules=none",
    f"--diff-filter={ADDED_OR_CHANGED}",
)


class GitIndexError(Exception):
    """The staged content cannot be listed (no repository, no work tree, git failed)."""


@dataclass(frozen=True)
class StagedBlob:
    """One path a commit would add or change, and the blob the index holds for it."""

    path: bytes  # relative to the top of the work tree, as git stores it
    oid: str
    mode: str


def parse_raw_diff(output: bytes) -> list[StagedBlob]:
    """Entries of ``git diff --raw -z --no-renames``: ``:m1 m2 o1 o2 S\\0path\\0`` each."""
    fields = output.split(b"\0")[:-1]  # each field ends with NUL
    blobs = []
    for header, path in zip(fields[0::2], fields[1::2], strict=True):
        _, new_mode, _, new_oid, _status = header[1:].decode("ascii").split(" ")
        blobs.append(StagedBlob(path=path, oid=new_oid, mode=new_mode))
    return blobs


@dataclass(frozen=True)
class StagedIndex:
    """What the next commit would add or change, and where it could already be."""

    top: bytes  # the top of the work tree
    blobs: list[StagedBlob]
    # remote-tracking branches (``refs/remotes/...``, each once): where a key is pushed
    remote_refs: list[str] = field(default_factory=list)


def list_staged(cwd: str | None = None, pathspecs: Sequence[str] = ()) -> StagedListing:
    """Start listing the blobs a commit made now would add or change, and the
    remote-tracking branches; ``index()`` waits for the answer.

    Submodule pointers are left out, and so are deleted paths: removing a key is
    never a leak.
    """
    # Outside a work tree `git diff` would silently fall back to comparing files: its
    # output counts only once rev-parse has found the work tree (both start at once).
    return StagedListing(
        Git(cwd).start_together(
            ["rev-parse", "--show-toplevel", *_REMOTE_REF_ARGS],
            [*_DIFF_ARGS, "--", *pathspecs],
        )
    )


@dataclass
class StagedListing:
    """The two git commands that list what is staged, running."""

    started: Started

    def index(self) -> StagedIndex:
        """What they answered; GitIndexError when either failed."""
        where, diff = self.started.results()
        for out in (where, diff):
            if isinstance(out, GitError):
                raise GitIndexError(str(out))
        assert isinstance(where, bytes) and isinstance(diff, bytes)
        top, _, refs = where.partition(b"\n")
        blobs = [b for b in parse_raw_diff(diff) if b.mode != GITLINK_MODE]
        return StagedIndex(top.rstrip(b"\n"), blobs, _ref_names(refs))


_REMOTE_REF_ARGS = ("--symbolic-full-name", "--remotes")  # rev-parse: remote-tracking branches


def remote_refs(cwd: str | None = None) -> list[str]:
    """The remote-tracking branches, each once (empty when git cannot list them)."""
    try:
        return _ref_names(Git(cwd).run("rev-parse", *_REMOTE_REF_ARGS))
    except GitError:
        return []


def _ref_names(out: bytes) -> list[str]:
    # a remote's HEAD is listed as the branch it points at: each branch once, in order
    names = (r.decode("utf-8", "surrogateescape") for r in out.split(b"\n") if r)
    return list(dict.fromkeys(names))


class BlobReader:
    """One ``git cat-file --batch``: the staged blobs first, then ``rev:path`` questions.

    git answers each request as it reads it, so the process stays open after the blobs
    (``contents`` asks its questions and closes it; so does leaving the ``with``).
    """

    def __init__(self, cwd: str | None = None) -> None:
        self._git = Git(cwd)
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> BlobReader:
        """Start git now (it starts up while the caller does something else)."""
        with contextlib.suppress(GitError):
            self._start()
        return self

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            self._process = self._git.spawn("cat-file", "--batch", stdin=subprocess.PIPE)
        return self._process

    def blobs(
        self, blobs: Sequence[StagedBlob]
    ) -> Iterator[tuple[StagedBlob, ObjectContent | None]]:
        """Each blob's content as a bounded stream, in order; None for a missing object.

        A thread writes the object ids while we read, so neither side waits on a full pipe.
        """
        if not blobs:
            return
        try:
            process = self._start()
        except GitError as exc:
            raise GitIndexError(str(exc)) from exc
        assert process.stdin is not None and process.stdout is not None
        request = b"".join(b.oid.encode("ascii") + b"\n" for b in blobs)
        feeder = threading.Thread(target=_write, args=(process.stdin, request), daemon=True)
        feeder.start()
        try:
            for blob in blobs:
                answer = next_object(process.stdout)
                if answer is None:
                    raise GitIndexError("git cat-file stopped before every staged blob was read")
                obj, content = answer
                yield blob, (None if obj.kind == "missing" else content)
                finish_object(process.stdout, obj, content)
            feeder.join()
        except EOFError as exc:
            self.close()
            raise GitIndexError(str(exc)) from exc

    def contents(self, specs: Sequence[str]) -> list[bytes | None]:
        """What git holds at each ``rev:path`` (None: missing, or git failed); then closes."""
        if not specs:
            return []
        try:
            process = self._start()
        except GitError:
            return [None] * len(specs)
        assert process.stdin is not None and process.stdout is not None
        request = "".join(f"{s}\n" for s in specs).encode("utf-8", "surrogateescape")
        threading.Thread(target=feed, args=(process.stdin, request), daemon=True).start()
        found: list[bytes | None] = []
        try:
            for _ in specs:
                answer = next_object(process.stdout)
                if answer is None:
                    break
                obj, content = answer
                found.append(content.read() if obj.kind == "blob" else None)
                finish_object(process.stdout, obj, content)
        except EOFError:
            pass  # git stopped: what it did not answer is unknown
        found += [None] * (len(specs) - len(found))
        self.close()
        return found

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(OSError):
            process.stdin.close()
        process.stdout.close()
        process.wait()


def _write(pipe: BinaryIO, data: bytes) -> None:
    """Write a request to git's stdin, keeping it open for the next one."""
    try:
        pipe.write(data)
        pipe.flush()
    except (BrokenPipeError, ValueError):  # git stopped early (or we closed the pipe)
        pass
