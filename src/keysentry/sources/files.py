"""Files and directories on disk, and standard input."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from keysentry.config import Config
from keysentry.model.report import Report, ScanError
from keysentry.model.text import decode_path
from keysentry.sources.repo_paths import shown_file, shown_prefix

SKIPPED_DIRS = frozenset({b".git"})  # names from a bytes walk are bytes
STDIN = "-"


@dataclass(frozen=True)
class FileEntry:
    """A regular file to scan: where it is, and the path findings show."""

    fs_path: bytes
    display: str


def _walk(root: bytes, report: Report) -> Iterator[tuple[bytes, bytes]]:
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
                    if entry.name not in SKIPPED_DIRS:
                        stack.append((entry.path, folder_rel + entry.name + b"/"))
                elif entry.is_file(follow_symlinks=False):
                    yield entry.path, folder_rel + entry.name
                else:
                    report.stats["special_files_skipped"] += 1
            except OSError as exc:
                report.errors.append(ScanError(decode_path(entry.path), _reason(exc)))


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def file_entries(paths: list[str], config: Config, report: Report) -> Iterator[FileEntry]:
    """The files that the path arguments name, minus configured excludes."""
    for arg in paths:
        if arg == STDIN:
            continue
        raw = os.fsencode(arg)
        try:
            mode = os.stat(raw).st_mode
        except OSError as exc:
            report.errors.append(ScanError(decode_path(raw), _reason(exc)))
            continue
        if stat.S_ISDIR(mode):
            prefix = shown_prefix(raw)
            for found, rel_bytes in _walk(raw, report):
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


def open_entry(entry: FileEntry) -> BinaryIO:
    return open(entry.fs_path, "rb", buffering=0)


def stdin_stream() -> BinaryIO:
    return sys.stdin.buffer
