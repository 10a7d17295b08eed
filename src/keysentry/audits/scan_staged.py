"""``keysentry scan --staged`` and the git hook: what the next commit would contain.

``StagedScan`` starts its git processes when it is made, and imports the scanner only
when it runs: git lists and opens the index on the other core while Python imports
the engine (the hook's latency is mostly start-up; docs/performance.md).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import TracebackType
from typing import BinaryIO, cast

from keysentry.audits.staged_stage import StagedState, staged_states
from keysentry.config import Config
from keysentry.model.finding import Finding
from keysentry.model.report import Report, ScanError
from keysentry.model.target import ScanTarget, SourceKind
from keysentry.model.text import decode_path
from keysentry.sources.git_index import BlobReader, GitIndexError, list_staged


def scan_staged(
    config: Config,
    report: Report | None = None,
    cwd: str | None = None,
    pathspecs: Sequence[str] = (),
) -> Report:
    """Scan the staged blob of every path the next commit would add or change.

    Paths are relative to the top of the work tree; exclude globs match them.
    """
    with StagedScan(config, cwd, pathspecs) as staged:
        return staged.run(report)


class StagedScan:
    """One staged scan, whose ``git cat-file`` stays open for the hook's next question:
    how far each key it found already got (``states``)."""

    def __init__(
        self, config: Config, cwd: str | None = None, pathspecs: Sequence[str] = ()
    ) -> None:
        self.config = config
        self.cwd = cwd
        self.listing = list_staged(cwd, pathspecs)  # git starts now
        self.reader = BlobReader(cwd).open()
        self.remote_refs: list[str] = []

    def __enter__(self) -> StagedScan:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.listing.started.results()  # nothing left running when run() never was
        self.reader.close()

    def run(self, report: Report | None = None) -> Report:
        from keysentry.engine.names import keys_in_path
        from keysentry.engine.scanner import Scanner

        config = self.config
        scanner = Scanner(config, report or Report())
        stats = scanner.report.stats
        try:
            index = self.listing.index()
            self.remote_refs = index.remote_refs
            wanted = []
            for blob in index.blobs:
                if config.is_excluded(blob.path.decode("utf-8", "surrogateescape")):
                    stats["files_excluded"] += 1
                else:
                    wanted.append(blob)
            for blob, content in self.reader.blobs(wanted):
                path = decode_path(blob.path)
                if content is None:
                    message = f"staged blob {blob.oid} is missing from the object store"
                    scanner.report.errors.append(ScanError(path, message))
                    continue
                # the work-tree folders (package.json, manifests) tell exposure where it ships
                on_disk = os.path.join(index.top, blob.path)
                target = ScanTarget(path, SourceKind.STAGED, fs_path=on_disk)
                raw = blob.path.decode("utf-8", "surrogateescape")
                scanner.report.findings.extend(keys_in_path(config, raw, path, target))
                scanner.scan_stream(cast(BinaryIO, content), target)
                stats["files_scanned"] += 1
        except GitIndexError as exc:
            where = decode_path(os.path.abspath(self.cwd or os.curdir))
            scanner.report.errors.append(ScanError(where, f"cannot read the git index: {exc}"))
        return scanner.report

    def states(self, findings: list[Finding]) -> dict[str, StagedState]:
        """How far each key got, asked of the scan's own git processes."""
        return staged_states(
            findings, self.cwd, refs=self.remote_refs, contents=self.reader.contents
        )
