"""Staged content: the blobs the index holds for the paths a commit would change.

What a commit will contain is the index, not the working tree, so this source
never opens a work-tree file. One ``git diff --cached --raw -z`` lists the
staged entries (it also handles an unborn branch, where there is no HEAD to
compare with) and one ``git cat-file --batch`` streams every blob, each in
bounded memory (read through :mod:`keysentry.sources.git_objects`).

git runs through :mod:`keysentry.sources.git` (the standard library only): every
commit pays for the hook's start-up, and importing GitPython alone (~75 ms, plus a
``git version`` it runs at import) would cost more than the whole staged scan; see
README, Performance.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from keysentry.sources.git import Git, GitError, feed
from keysentry.sources.git_objects import ObjectContent, read_batch

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


def staged_blobs(
    cwd: str | None = None, pathspecs: Sequence[str] = ()
) -> tuple[bytes, list[StagedBlob]]:
    """The top of the work tree, and the blobs a commit made now would add or change.

    Submodule pointers are left out, and so are deleted paths: removing a key is
    never a leak.
    """
    # Outside a work tree `git diff` would silently fall back to comparing files: its
    # output counts only once rev-parse has found the work tree (both start at once).
    top, diff = Git(cwd).run_together(
        ["rev-parse", "--show-toplevel"], [*_DIFF_ARGS, "--", *pathspecs]
    )
    for out in (top, diff):
        if isinstance(out, GitError):
            raise GitIndexError(str(out))
    assert isinstance(top, bytes) and isinstance(diff, bytes)
    return top.rstrip(b"\n"), [b for b in parse_raw_diff(diff) if b.mode != GITLINK_MODE]


def read_blobs(
    blobs: Sequence[StagedBlob], cwd: str | None = None
) -> Iterator[tuple[StagedBlob, ObjectContent | None]]:
    """Each blob's content as a bounded stream, in order; None for a missing object.

    A thread writes the object ids while we read, so neither side waits on a full pipe.
    """
    if not blobs:
        return
    try:
        process = Git(cwd).spawn("cat-file", "--batch", stdin=subprocess.PIPE)
    except GitError as exc:
        raise GitIndexError(str(exc)) from exc
    assert process.stdin is not None
    request = b"".join(b.oid.encode("ascii") + b"\n" for b in blobs)
    threading.Thread(target=feed, args=(process.stdin, request), daemon=True).start()
    assert process.stdout is not None
    try:
        batch = read_batch(process.stdout)
        for blob in blobs:
            obj, content = next(batch, (None, None))
            if obj is None or content is None:
                raise GitIndexError("git cat-file stopped before every staged blob was read")
            yield blob, (None if obj.kind == "missing" else content)
    except EOFError as exc:
        raise GitIndexError(str(exc)) from exc
    finally:
        process.stdout.close()
        process.wait()
