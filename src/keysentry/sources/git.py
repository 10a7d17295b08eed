"""The one way keysentry runs git.

Every git-reading module (the index, the object store, history, CI ranges, hook
installation, repository audits) starts git through :class:`Git`, so that each call
gets the same environment (the caller's, quarantine variables of a pre-receive hook
included), the same error messages (git's first line, without ``fatal:``), and a
stderr that can never fill up and block git. It imports nothing beyond the standard
library: ``keysentry hook`` runs it on every commit.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from keysentry.model.text import decode_path
from keysentry.sources.git_objects import StderrDrain, widen_pipe

# Pack files are mapped into git's memory (and count in its RSS): without limits a
# full read maps every pack whole, in each git process.
MEMORY_LIMITS = (
    "-c", "core.packedGitLimit=64m", "-c", "core.packedGitWindowSize=16m",
    "-c", "core.deltaBaseCacheLimit=32m",
)  # fmt: skip


_REPOSITORY_ARGS = (
    "rev-parse", "--absolute-git-dir", "--is-bare-repository", "--is-shallow-repository",
    "--is-inside-work-tree", "--show-toplevel",
)  # fmt: skip


class GitError(Exception):
    """git could not be run, or answered with an error; the message is git's own."""


def first_error_line(stderr: str, args: Sequence[str]) -> str:
    """git's reason: its fatal line (warnings and errors come first), with the first error
    line when there is one (``bad object X (unable to normalize alternate object path …)``)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    fatal = [line.removeprefix("fatal: ") for line in lines if line.startswith("fatal: ")]
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    if fatal and errors:
        return f"{fatal[0]} ({errors[0]})"
    return (fatal or errors or lines or [f"git {args[0] if args else ''} failed".strip()])[0]


@dataclass(frozen=True)
class Repository:
    """Where a repository is: its git directory, and its work tree (None when bare)."""

    git_dir: Path
    work_tree: Path | None
    shallow: bool = False

    @property
    def bare(self) -> bool:
        return self.work_tree is None


@dataclass(frozen=True)
class Git:
    """git run in ``cwd`` (or on ``git_dir``), with ``options`` before the command.

    ``env`` adds to (never replaces) the caller's environment.
    """

    cwd: str | Path | None = None
    git_dir: Path | None = None
    options: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    def _argv(self, args: Sequence[str]) -> list[str]:
        where = ["--git-dir", str(self.git_dir)] if self.git_dir is not None else []
        return ["git", *where, *self.options, *args]

    def _environment(self) -> dict[str, str] | None:
        return {**os.environ, **self.env} if self.env else None

    def run(self, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
        """A git command's whole output; GitError with git's message when it fails."""
        try:
            done = subprocess.run(
                self._argv(args),
                cwd=self.cwd,
                input=stdin,
                capture_output=True,
                check=False,
                env=self._environment(),
                stdin=None if stdin is not None else subprocess.DEVNULL,
            )
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror or exc}") from exc
        if check and done.returncode != 0:
            raise GitError(first_error_line(done.stderr.decode("utf-8", "replace"), args))
        return done.stdout

    def start_together(self, *commands: Sequence[str]) -> Started:
        """Commands started at once, so that their start-ups overlap (and overlap what the
        caller does meanwhile); ``results()`` waits for them."""
        started: list[subprocess.Popen[bytes] | GitError] = []
        for args in commands:
            try:
                started.append(
                    subprocess.Popen(
                        self._argv(args),
                        cwd=self.cwd,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        env=self._environment(),
                    )
                )
            except OSError as exc:
                started.append(GitError(f"cannot run git: {exc.strerror or exc}"))
        return Started(list(commands), started)

    def ok(self, *args: str) -> bool:
        """Whether the command succeeds (its output is not wanted)."""
        try:
            self.run(*args)
        except GitError:
            return False
        return True

    def spawn(self, *args: str, stdin: int | BinaryIO | None = None) -> subprocess.Popen[bytes]:
        """A git process whose stdout the caller reads (through a widened pipe); its stderr
        is drained in the background (``failure`` reads it)."""
        try:
            proc = subprocess.Popen(
                self._argv(args),
                cwd=self.cwd,
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._environment(),
            )
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror or exc}") from exc
        proc.stderr_drain = StderrDrain(proc)  # type: ignore[attr-defined]
        assert proc.stdout is not None
        widen_pipe(proc.stdout)
        return proc

    def stream(self, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
        """Like ``run`` through ``spawn``: for long outputs fed by a large stdin, written from
        a thread so that neither side waits on a full pipe."""
        proc = self.spawn(*args, stdin=subprocess.PIPE if stdin is not None else None)
        feeder = None
        if stdin is not None:
            assert proc.stdin is not None
            feeder = threading.Thread(target=feed, args=(proc.stdin, stdin), daemon=True)
            feeder.start()
        assert proc.stdout is not None
        out = proc.stdout.read()
        if feeder is not None:
            feeder.join()
        code = proc.wait()
        if check and code != 0:
            raise GitError(failure(args, proc))
        return out

    def repository(self) -> Repository:
        """The repository holding ``cwd`` (parents searched); GitError saying why not.

        One ``rev-parse`` answers it all; ``--show-toplevel`` comes last, so that where
        there is no work tree (bare, or inside the git directory) git has printed the
        rest before it refuses."""
        if self.cwd is not None and not os.path.isdir(self.cwd):
            raise GitError("no such directory")
        try:
            done = subprocess.run(
                self._argv(_REPOSITORY_ARGS),
                cwd=self.cwd,
                capture_output=True,
                check=False,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror or exc}") from exc
        lines = done.stdout.decode("utf-8", "surrogateescape").splitlines()
        if len(lines) < 4:
            message = first_error_line(done.stderr.decode("utf-8", "replace"), _REPOSITORY_ARGS)
            if "not a git repository" in message:
                raise GitError("not a git repository")
            raise GitError(f"cannot open the repository: {message}")
        git_dir, bare, shallow, inside = lines[:4]
        work_tree = None
        if done.returncode == 0 and len(lines) > 4 and bare != "true":
            work_tree = Path(lines[4])
        elif bare != "true" and inside != "true":  # in the git directory: core.worktree?
            top = self.run("rev-parse", "--show-toplevel", check=False).rstrip(b"\n")
            work_tree = Path(os.fsdecode(top)) if top else None
        return Repository(Path(git_dir), work_tree, shallow == "true")

    def top_level(self) -> Path:
        """The top of the work tree holding ``cwd``; GitError naming the folder if none."""
        try:
            top = self.run("rev-parse", "--show-toplevel")
        except GitError as exc:
            where = decode_path(os.path.abspath(self.cwd or os.curdir))
            raise GitError(f"{where}: {exc or 'not a git work tree'}") from exc
        return Path(top.decode("utf-8", "surrogateescape").rstrip("\n"))


@dataclass
class Started:
    """Commands ``Git.start_together`` started."""

    commands: list[Sequence[str]]
    processes: list[subprocess.Popen[bytes] | GitError]
    _results: list[bytes | GitError] | None = None

    def results(self) -> list[bytes | GitError]:
        """Each command's output, or the GitError ``Git.run`` would have raised for it (the
        caller picks which counts); waited for once, the same answer after."""
        if self._results is None:
            self._results = [
                self._result(args, proc)
                for args, proc in zip(self.commands, self.processes, strict=True)
            ]
        return self._results

    @staticmethod
    def _result(args: Sequence[str], proc: subprocess.Popen[bytes] | GitError) -> bytes | GitError:
        if isinstance(proc, GitError):
            return proc
        out, err = proc.communicate()
        if proc.returncode == 0:
            return out
        return GitError(first_error_line(err.decode("utf-8", "replace"), args))


def feed(pipe: BinaryIO, data: bytes) -> None:
    """Write a request to git's stdin and close it; git stopping early is not our error."""
    try:
        with pipe:
            pipe.write(data)
    except BrokenPipeError:  # git stopped early; the reader reports what went wrong
        pass


def failure(args: Sequence[str], proc: subprocess.Popen[bytes]) -> str:
    """git's own message for a spawned process that failed."""
    drain: StderrDrain | None = getattr(proc, "stderr_drain", None)
    return first_error_line(drain.text() if drain is not None else "", args)
