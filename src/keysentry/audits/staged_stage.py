"""For the hook: has a staged key already been committed, or pushed?

The committed version of the same file is read from HEAD and from each remote-tracking
branch through ``git cat-file --batch`` (the key never goes on a command line): the
hook asks the process that read the staged blobs (audits/scan_staged.py), so a blocked
commit starts no more git processes. A key found in none of them was caught before it
left: git holds only the staged blob.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from keysentry.model.finding import Finding
from keysentry.model.stage import COMMITTED, NEVER_COMMITTED, PUBLIC, UNKNOWN
from keysentry.sources.git_index import BlobReader, remote_refs

MAX_REMOTE_REFS = 32  # remote-tracking branches read per staged file

# what git holds at each ``rev:path`` (None where it holds nothing)
Contents = Callable[[Sequence[str]], list[bytes | None]]


@dataclass(frozen=True)
class StagedState:
    stage: str  # model.stage: NEVER_COMMITTED, COMMITTED, PUBLIC or UNKNOWN (not checked)
    ref: str | None = None  # the ref that holds it (HEAD or a remote-tracking branch)


def staged_states(
    findings: list[Finding],
    cwd: str | None = None,
    *,
    refs: list[str] | None = None,
    contents: Contents | None = None,
) -> dict[str, StagedState]:
    """fingerprint -> how far the key got, judged by the same path in HEAD and on remotes.

    ``refs`` (the remote-tracking branches) and ``contents`` come from the staged scan
    when it ran; otherwise git is asked here.
    """
    # a name with a line break cannot be asked for on cat-file's line protocol
    paths = sorted({f.path for f in findings if f.secret and "\n" not in f.path})
    if contents is None:
        reader = BlobReader(cwd)
        if paths:  # started first: it starts up while the remote branches are listed
            reader.open()
        contents = reader.contents
    if refs is None:
        refs = remote_refs(cwd)
    heads = ["HEAD", *refs[:MAX_REMOTE_REFS]]
    specs = [f"{ref}:{path}" for path in paths for ref in heads]
    held = dict(zip(specs, contents(specs), strict=True))
    states: dict[str, StagedState] = {}
    for f in findings:
        if f.path not in paths:
            states.setdefault(f.fingerprint, StagedState(UNKNOWN))
            continue
        best = StagedState(NEVER_COMMITTED)
        for ref in heads:
            data = held.get(f"{ref}:{f.path}")
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
