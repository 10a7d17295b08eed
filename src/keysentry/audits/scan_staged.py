"""``keysentry scan --staged`` and the git hook: what the next commit would contain."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import BinaryIO, cast

from keysentry.config import Config
from keysentry.engine.names import keys_in_path
from keysentry.engine.scanner import Scanner
from keysentry.model.report import Report, ScanError
from keysentry.model.target import ScanTarget, SourceKind
from keysentry.model.text import decode_path
from keysentry.sources.git_index import GitIndexError, read_blobs, staged_blobs


def scan_staged(
    config: Config,
    report: Report | None = None,
    cwd: str | None = None,
    pathspecs: Sequence[str] = (),
) -> Report:
    """Scan the staged blob of every path the next commit would add or change.

    Paths are relative to the top of the work tree; exclude globs match them.
    """
    scanner = Scanner(config, report or Report())
    stats = scanner.report.stats
    try:
        top, listed = staged_blobs(cwd, pathspecs)
        wanted = []
        for blob in listed:
            if config.is_excluded(blob.path.decode("utf-8", "surrogateescape")):
                stats["files_excluded"] += 1
            else:
                wanted.append(blob)
        for blob, content in read_blobs(wanted, cwd):
            path = decode_path(blob.path)
            if content is None:
                message = f"staged blob {blob.oid} is missing from the object store"
                scanner.report.errors.append(ScanError(path, message))
                continue
            # the work-tree folders (package.json, manifests) tell exposure where it ships
            on_disk = os.path.join(top, blob.path)
            target = ScanTarget(path, SourceKind.STAGED, fs_path=on_disk)
            raw = blob.path.decode("utf-8", "surrogateescape")
            scanner.report.findings.extend(keys_in_path(config, raw, path, target))
            scanner.scan_stream(cast(BinaryIO, content), target)
            stats["files_scanned"] += 1
    except GitIndexError as exc:
        where = decode_path(os.path.abspath(cwd or os.curdir))
        scanner.report.errors.append(ScanError(where, f"cannot read the git index: {exc}"))
    return scanner.report
