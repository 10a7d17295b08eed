"""Files and directories on disk, and standard input."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from keysentry.config import Config
from keysentry.model.report import Report, ScanError
from keysentry.model.text import decode_path
from keysentry.sources.repo_paths import shown_file, shown_prefix

SKIPPED_DIRS = frozenset({b".git"})  # names from a bytes walk are bytes
# folders of dependencies and tools, not written by the user: skipped unless --include-deps
# (a virtualenv is any folder holding pyvenv.cfg; vendor/bundle is Bundler's)
DEPENDENCY_DIRS = frozenset(
    {
        b"node_modules",
        b"__pycache__",
        b".tox",
        b".nox",
        b".mypy_cache",
        b".pytest_cache",
        b".gradle",
        b"Pods",
    }
)
VENV_MARKER = b"pyvenv.cfg"
STDIN = "-"
URL_PREFIXES = ("http://", "https://")
URL_ADVICE = (
    "a URL, not a file: use `keysentry site URL` to scan what a site serves, or pipe the"
    " response in: curl -s URL | keysentry scan -"
)


@dataclass
class WalkOptions:
    """What a directory walk leaves out, and what it left out."""

    include_deps: bool = False
    ignored: frozenset[bytes] = frozenset()  # gitignored paths (folders end in /), relative
    skipped: list[str] = field(default_factory=list)  # dependency folders not walked


def is_dependency_dir(entry: os.DirEntry[bytes], parent: bytes) -> bool:
    name = entry.name
    if name in DEPENDENCY_DIRS or (name == b"bundle" and os.path.basename(parent) == b"vendor"):
        return True
    return os.path.isfile(os.path.join(entry.path, VENV_MARKER))


@dataclass(frozen=True)
class FileEntry:
    """A regular file to scan: where it is, and the path findings show."""

    fs_path: bytes
    display: str


def _walk(root: bytes, report: Report, options: WalkOptions) -> Iterator[tuple[bytes, bytes]]:
    """Regular files below root, as (path, path relative to root).

    Symlinks are not followed, so no loops and no escapes. The relative path is
    built while walking: os.path.relpath per file costs more than reading a small one.
    """
    stack = [(root, b"")]
    while stack:
        folder, folder_rel = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda e: e.name, reverse=True)
        except OSError as exc:
            report.errors.append(ScanError(decode_path(folder), _reason(exc)))
            continue
        for entry in listed:
            try:
                if entry.is_symlink():
                    report.stats["symlinks_skipped"] += 1
                elif entry.is_dir(follow_symlinks=False):
                    rel = folder_rel + entry.name + b"/"
                    if entry.name in SKIPPED_DIRS:
                        continue
                    if rel in options.ignored:
                        report.stats["dirs_gitignored"] += 1
                    elif not options.include_deps and is_dependency_dir(entry, folder):
                        report.stats["skipped_dirs"] += 1
                        options.skipped.append(decode_path(rel.rstrip(b"/")))
                    else:
                        stack.append((entry.path, rel))
                elif entry.is_file(follow_symlinks=False):
                    if folder_rel + entry.name in options.ignored:
                        report.stats["files_gitignored"] += 1
                    else:
                        yield entry.path, folder_rel + entry.name
                else:
                    report.stats["special_files_skipped"] += 1
            except OSError as exc:
                report.errors.append(ScanError(decode_path(entry.path), _reason(exc)))


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def gitignored(folder: bytes) -> frozenset[bytes] | None:
    """Paths below folder that git ignores (folders end in /); None outside a work tree."""
    from keysentry.sources.git import Git, GitError  # only for --respect-gitignore

    try:
        out = Git(os.fsdecode(folder)).run(
            "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"
        )
    except GitError:
        return None
    return frozenset(p for p in out.split(b"\0") if p)


def file_entries(
    paths: list[str], config: Config, report: Report, options: WalkOptions | None = None
) -> Iterator[FileEntry]:
    """The files that the path arguments name, minus configured excludes and (unless
    asked for) dependency folders."""
    options = options or WalkOptions(include_deps=config.include_deps)
    for arg in paths:
        if arg == STDIN:
            continue
        if arg.startswith(URL_PREFIXES):
            report.errors.append(ScanError(arg, URL_ADVICE))
            continue
        raw = os.fsencode(arg)
        try:
            mode = os.stat(raw).st_mode
        except OSError as exc:
            report.errors.append(ScanError(decode_path(raw), _reason(exc)))
            continue
        if stat.S_ISDIR(mode):
            walk = options
            if config.respect_gitignore:
                ignored = gitignored(raw)
                if ignored is None:
                    report.notes.append(
                        f"{decode_path(raw)}: not in a git work tree: --respect-gitignore"
                        " skipped nothing there"
                    )
                walk = replace(options, ignored=ignored or frozenset())  # same skipped list
            prefix = shown_prefix(raw)
            for found, rel_bytes in _walk(raw, report, walk):
                shown = prefix + rel_bytes
                if _excluded(config, rel_bytes) or (prefix and _excluded(config, shown)):
                    report.stats["files_excluded"] += 1
                    continue
                yield FileEntry(found, decode_path(shown))
        else:
            shown = shown_file(raw)
            if config.is_excluded(Path(arg).as_posix()) or _excluded(config, shown):
                report.stats["files_excluded"] += 1
            else:
                yield FileEntry(raw, decode_path(shown))


def _excluded(config: Config, path: bytes) -> bool:
    """Exclude globs match the path below the scanned folder or the repository's path."""
    return config.is_excluded(path.decode("utf-8", "surrogateescape"))


def skipped_note(skipped: list[str]) -> str | None:
    """The one line that says which dependency folders a walk left out."""
    if not skipped:
        return None
    shown = {
        "vendor/bundle" if p.endswith("vendor/bundle") else os.path.basename(p) for p in skipped
    }
    names = ", ".join(sorted(shown)[:5])
    return (
        f"skipped {len(skipped)} dependency or tool folder(s) ({names}): --include-deps scans them"
    )


def open_entry(entry: FileEntry) -> BinaryIO:
    return open(entry.fs_path, "rb", buffering=0)


def stdin_stream() -> BinaryIO:
    return sys.stdin.buffer
