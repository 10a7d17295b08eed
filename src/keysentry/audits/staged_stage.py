"""For the hook: has a staged key already been committed, or pushed?

The committed version of the same file is read from HEAD and from each remote-tracking
branch (one ``git cat-file --batch``; the key never goes on a command line). A key found
in none of them was caught before it left: git holds only the staged blob.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from dataclasses import dataclass

from keysentry.model.finding import Finding
from keysentry.model.stage import COMMITTED, NEVER_COMMITTED, PUBLIC, UNKNOWN
from keysentry.sources.git import Git, GitError, feed

MAX_REMOTE_REFS = 32  # remote-tracking branches read per staged file


@dataclass(frozen=True)
class StagedState:
    stage: str  # model.stage: NEVER_COMMITTED, COMMITTED, PUBLIC or UNKNOWN (not checked)
    ref: str | None = None  # the ref that holds it (HEAD or a remote-tracking branch)


def _remote_refs(git: Git) -> list[str]:
    try:
        out = git.run("for-each-ref", "--format=%(refname)", "refs/remotes")
    except GitError:
        return []  # the hook then says only what it knows
    refs = [r for r in out.decode("utf-8", "replace").split() if not r.endswith("/HEAD")]
    return refs[:MAX_REMOTE_REFS]


def _contents(batch: subprocess.Popen[bytes] | None, specs: list[str]) -> list[bytes | None]:
    """What ``git cat-file --batch`` answers to ``rev:path`` specs; None for a missing one."""
    out = _answer(batch, "".join(f"{s}\n" for s in specs).encode())
    if out is None:
        return [None] * len(specs)
    found: list[bytes | None] = []
    pos = 0
    for _ in specs:
        end = out.find(b"\n", pos)
        header = out[pos:end]
        pos = end + 1
        if header.endswith((b" missing", b" ambiguous")) or end < 0:
            found.append(None)
            continue
        size = int(header.rsplit(b" ", 1)[1])
        found.append(out[pos : pos + size])
        pos += size + 1
    return found


def _answer(batch: subprocess.Popen[bytes] | None, request: bytes) -> bytes | None:
    """The batch's whole output for the request, or None when git fails."""
    if batch is None:
        return None
    assert batch.stdin is not None and batch.stdout is not None
    feeder = threading.Thread(target=feed, args=(batch.stdin, request), daemon=True)
    feeder.start()
    out = batch.stdout.read()
    feeder.join()
    return out if batch.wait() == 0 else None


def staged_states(findings: list[Finding], cwd: str | None = None) -> dict[str, StagedState]:
    """fingerprint -> how far the key got, judged by the same path in HEAD and on remotes."""
    git = Git(cwd)
    # a name with a line break cannot be asked for on cat-file's line protocol
    paths = sorted({f.path for f in findings if f.secret and "\n" not in f.path})
    batch = None
    if paths:  # started first: it starts up while for-each-ref lists the remote branches
        with contextlib.suppress(GitError):
            batch = git.spawn("cat-file", "--batch", stdin=subprocess.PIPE)
    refs = ["HEAD", *_remote_refs(git)]
    specs = [f"{ref}:{path}" for path in paths for ref in refs]
    contents = dict(zip(specs, _contents(batch, specs), strict=True)) if specs else {}
    states: dict[str, StagedState] = {}
    for f in findings:
        if f.path not in paths:
            states.setdefault(f.fingerprint, StagedState(UNKNOWN))
            continue
        best = StagedState(NEVER_COMMITTED)
        for ref in refs:
            data = contents.get(f"{ref}:{f.path}")
            if data is None or f.secret.encode() not in data:
                continue
            if ref != "HEAD":
                best = StagedState(PUBLIC, ref.removeprefix("refs/remotes/"))
                break
            best = StagedState(COMMITTED, "HEAD")
        previous = states.get(f.fingerprint)
        if previous is None or _order(best) < _order(previous):
            states[f.fingerprint] = best
    return states


def _order(state: StagedState) -> int:
    return {PUBLIC: 0, UNKNOWN: 1, COMMITTED: 2}.get(state.stage, 3)
