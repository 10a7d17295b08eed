"""The ``git filter-repo --replace-text`` file, and the commands that use it.

filter-repo reads one expression per line, literal by default, ``==>`` then the
replacement. It has no comment syntax (any line is an expression), so the file
holds exactly the keys and nothing else.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from pathlib import Path

from keysentry.guide.leaked_keys import LeakedKey

REPLACEMENT = "REMOVED-LEAKED-API-KEY"


class PurgeFileError(Exception):
    """The purge file cannot be written; the message says why and what to do."""


def replace_text_lines(keys: Iterable[str]) -> str:
    unique = sorted(set(keys))
    return "".join(f"literal:{key}==>{REPLACEMENT}\n" for key in unique)


def write_purge_file(path: Path, keys: Iterable[str], *, force: bool = False) -> int:
    """Write the file with mode 0600; refuse to overwrite unless force. Returns key count."""
    text = replace_text_lines(keys)
    if not text:
        raise PurgeFileError(f"{path}: not written: no full key to put in it")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    if not force:
        flags |= os.O_EXCL
    elif path.is_symlink():
        raise PurgeFileError(f"{path}: not written: it is a symbolic link")
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError as exc:
        raise PurgeFileError(f"{path}: already exists; pass --force to overwrite it") from exc
    except OSError as exc:
        raise PurgeFileError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file (--force) keeps no wider mode
        handle.write(text)
    return text.count("\n")


def purge_file_for(path: Path, keys: list[LeakedKey], *, force: bool = False) -> int:
    """The purge file for these keys: all of them, or none when any is not known in full."""
    missing = [k.redacted for k in keys if not k.secret]
    if missing:
        raise PurgeFileError(
            f"{len(missing)} key(s) not known in full: the report holds no full key (write it"
            " with --show-secrets, or run the guide without --from)"
        )
    return write_purge_file(path, [k.secret for k in keys if k.secret], force=force)


def filter_repo_command(purge_file: str, *, messages: bool, pushed: bool | None = True) -> str:
    """The rewrite: file contents always, commit and tag messages when a key was in one.

    When a remote may hold the keys, --sensitive-data-removal first fetches every
    ref from origin (so none is left unrewritten) and lists what to ask the host.
    """
    quoted = shlex.quote(purge_file)
    command = "git filter-repo"
    if pushed is not False:
        command += " --sensitive-data-removal"
    command += f" --replace-text {quoted}"
    if messages:
        command += f" --replace-message {quoted}"
    return command


def purge_commands(purge_file: str, *, messages: bool, pushed: bool | None) -> list[str]:
    """The full sequence, as shell lines (comments start with #)."""
    if pushed is False:
        commit = [
            "Commit the step-3 fixes: filter-repo rewrites every branch and tag, and",
            "   throws away uncommitted changes and stashes.",
        ]
    else:
        commit = [
            "Commit the step-3 fixes and push them normally: filter-repo first fetches",
            "   every ref from origin, and would ask to discard unpushed commits.",
        ]
    steps: list[tuple[list[str], list[str]]] = [
        (["Revoke the keys first (step 1): rewriting history does not un-leak them."], []),
        (commit, ["git status --short   # must print nothing"]),
        (
            [
                f"Rewrite history: every key in the file becomes {REPLACEMENT}",
                "   (git-filter-repo 2.47+: pip install git-filter-repo; add --force when it",
                "   says this is not a fresh clone).",
            ],
            [filter_repo_command(purge_file, messages=messages, pushed=pushed)],
        ),
        (["Confirm that no key is left anywhere in history:"], ["keysentry history"]),
    ]
    if pushed is not False:
        steps.append(
            (
                [
                    "Replace every branch and tag on the remote with the rewritten ones",
                    "   (unprotect branches first; the fetch above brought every ref here).",
                ],
                ["git push --force --mirror origin"],
            )
        )
    steps.append(
        (["Delete the purge file: it holds the full keys."], [f"rm -f {shlex.quote(purge_file)}"])
    )
    lines = ["# Run these at the top of the repository."]
    for number, (comments, commands) in enumerate(steps, start=1):
        lines.append(f"# {number}. {comments[0]}")
        lines += [f"#  {c}" for c in comments[1:]]
        lines += commands
    return lines


def strip_commands(paths: list[str], *, pushed: bool | None) -> list[str]:
    """Removing whole files from history: for keys a text replacement cannot reach."""
    flag = "" if pushed is False else " --sensitive-data-removal"
    return [f"git filter-repo{flag} --invert-paths --path {shlex.quote(p)}" for p in paths]


def aftermath(pushed: bool | None) -> list[str]:
    """What everybody else holding a copy must do once history is rewritten."""
    if pushed is False:
        return [
            "No commit holding these keys is on a remote yet: rewrite before you push, and"
            " nobody else needs to act.",
        ]
    return [
        "Collaborators: re-clone (do not pull or merge: a merge brings the old commits back);"
        " rebase unpushed work onto the rewritten branches.",
        "Forks and mirrors keep the old history: ask their owners to delete or re-sync them;"
        " on GitHub, contact support to drop cached views and pull-request refs"
        " (filter-repo --sensitive-data-removal prints the commits to name).",
        "CI caches, build caches and artifacts made from the old commits still hold the keys:"
        " clear them (e.g. the CI provider's cache settings) and delete old artifacts.",
        "Open pull requests based on the old history must be recreated from the new one.",
    ]
