"""What a push adds: the ref updates a hook is given, and the objects no ref had before.

``git receive-pack`` runs the pre-receive hook with the pushed objects still in a
quarantine directory (``GIT_QUARANTINE_PATH``), naming it in ``GIT_OBJECT_DIRECTORY``
and the repository's own store in ``GIT_ALTERNATE_OBJECT_DIRECTORIES``. Every git
process started here inherits the hook's environment unchanged, so each one sees
the quarantined objects; a git run with a cleaned environment would see none of
them (and rev-list would fail on the unknown tips, which the check treats as an
incomplete scan, never as a clean push).

New objects are ``git rev-list --objects <new tips> --not <what is already there>``
streamed into ``git cat-file --batch``: a new branch of an old history lists nothing.

Every git process is started through :mod:`keysentry.sources.git` (the caller's
environment, git's own error messages); this module only remembers them, so that
a check out of time can kill them.
"""

from __future__ import annotations

import io
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from keysentry.sources.git import MEMORY_LIMITS, Git, GitError, failure, feed
from keysentry.sources.git_objects import PIPE_SIZE

ZERO_OIDS = frozenset({"0" * 40, "0" * 64})
CONFIG_SECTION = "keysentry"


class PushError(Exception):
    """The push cannot be read (bad hook input, git failed); the message says what."""


@dataclass(frozen=True)
class RefUpdate:
    """One ref a push changes: ``old`` is all zeros for a new ref, ``new`` for a deletion."""

    ref: str
    old: str
    new: str

    @property
    def created(self) -> bool:
        return self.old in ZERO_OIDS

    @property
    def deleted(self) -> bool:
        return self.new in ZERO_OIDS

    @property
    def audit_range(self) -> str:
        """The ``keysentry history --range`` argument that audits this update later."""
        return self.new if self.created else f"{self.old}..{self.new}"


def _is_oid(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def parse_pre_receive(text: str) -> list[RefUpdate]:
    """``<old> <new> <ref>`` lines, as git gives them to pre-receive on stdin."""
    updates = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(" ", 2)
        if len(parts) != 3 or not (_is_oid(parts[0]) and _is_oid(parts[1])):
            raise PushError(f"hook input line {number}: expected '<old> <new> <ref>': {line!r}")
        updates.append(RefUpdate(parts[2], parts[0], parts[1]))
    return updates


@dataclass(frozen=True)
class PushedRef:
    """One line of pre-push input: what is sent, and what the remote has now."""

    local_ref: str
    local: str
    remote_ref: str
    remote: str


def parse_pre_push(text: str) -> list[PushedRef]:
    """``<local ref> <local sha> <remote ref> <remote sha>`` lines (git's pre-push stdin)."""
    pushed = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.rsplit(" ", 3)
        if len(parts) != 4 or not (_is_oid(parts[1]) and _is_oid(parts[3])):
            message = "expected '<local ref> <local sha> <remote ref> <remote sha>'"
            raise PushError(f"hook input line {number}: {message}: {line!r}")
        pushed.append(PushedRef(*parts))
    return pushed


class PushRepository:
    """The repository a hook runs in (the current directory, or ``GIT_DIR``).

    Every process started is remembered, so that a check out of time can stop them.
    """

    def __init__(self, cwd: str | None = None) -> None:
        self.cwd = cwd
        self.git = Git(cwd, options=MEMORY_LIMITS)
        self._procs: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self.stopped = False

    def spawn(
        self, args: Sequence[str], stdin: int | BinaryIO | None = None
    ) -> subprocess.Popen[bytes]:
        with self._lock:
            if self.stopped:
                raise PushError("the check was stopped")
            try:
                proc = self.git.spawn(*args, stdin=stdin)
            except GitError as exc:
                raise PushError(str(exc)) from exc
            self._procs.append(proc)
        return proc

    def run(self, args: Sequence[str], stdin: bytes | None = None, check: bool = True) -> bytes:
        proc = self.spawn(args, subprocess.PIPE if stdin is not None else None)
        if stdin is not None:
            threading.Thread(target=feed, args=(proc.stdin, stdin), daemon=True).start()
        assert proc.stdout is not None
        out = proc.stdout.read()
        if proc.wait() != 0 and check:
            raise PushError(failure(args, proc))
        return out

    def stop(self) -> None:
        """Kill every git process this check started (the time budget ran out)."""
        with self._lock:
            self.stopped = True
            for proc in self._procs:
                if proc.poll() is None:
                    proc.kill()

    # --- facts -----------------------------------------------------------------------

    def git_dir(self) -> str:
        return (
            self.run(["rev-parse", "--absolute-git-dir"]).decode("utf-8", "surrogateescape").strip()
        )

    def settings(self) -> dict[str, str]:
        """``keysentry.*`` git config values (names lower-cased, as git reports them)."""
        out = self.run(["config", "-z", "--get-regexp", rf"^{CONFIG_SECTION}\."], check=False)
        values = {}
        for entry in out.split(b"\0"):
            name, _, value = entry.decode("utf-8", "replace").partition("\n")
            if name:
                values[name.removeprefix(CONFIG_SECTION + ".")] = value
        return values

    def present(self, oids: Sequence[str]) -> set[str]:
        """Which of these objects the store holds."""
        if not oids:
            return set()
        out = self.run(
            ["cat-file", "--batch-check=%(objectname)"], "".join(f"{o}\n" for o in oids).encode()
        )
        return {line.decode() for line in out.splitlines() if not line.endswith(b"missing")}

    def branches(self) -> list[tuple[str, str]]:
        """(refs/heads/NAME, the commit it points at) of every local branch."""
        out = self.run(["for-each-ref", "--format=%(refname) %(objectname)", "refs/heads"])
        lines = out.decode("utf-8", "surrogateescape").splitlines()
        return [(ref, oid) for ref, _, oid in (line.rpartition(" ") for line in lines)]

    def file_at(self, commit: str, path: str) -> bytes | None:
        """A file's content in a commit's tree, or None when it has none there."""
        proc = self.run(["cat-file", "blob", f"{commit}:{path}"], check=False)
        return proc or None

    def commits(self, revisions: Sequence[str]) -> list[str]:
        out = self.run(["rev-list", *revisions, "--"])
        return out.decode("ascii").split()

    # --- content ---------------------------------------------------------------------

    @contextmanager
    def new_objects(self, revisions: Sequence[str]) -> Iterator[BinaryIO]:
        """A ``cat-file --batch`` stream of every object the revisions reach (trees too:
        the caller skips them); ``<oid> missing`` for one the store lacks."""
        lister = self.spawn(
            ["rev-list", "--objects", "--no-object-names", "--missing=print", *revisions, "--"]
        )
        reader = self.spawn(["cat-file", "--batch"], stdin=lister.stdout)
        assert lister.stdout is not None and reader.stdout is not None
        lister.stdout.close()  # cat-file holds it now
        # one read per many small objects: a 1 MiB buffer over the widened pipe
        stream = io.BufferedReader(reader.stdout.raw, PIPE_SIZE)  # type: ignore[attr-defined]
        try:
            yield stream
        finally:
            stream.close()
            lister_code, reader_code = lister.wait(), reader.wait()
        if not self.stopped and lister_code != 0:
            raise PushError(failure(["rev-list"], lister))
        if not self.stopped and reader_code not in (0, -13):
            raise PushError(failure(["cat-file"], reader))
