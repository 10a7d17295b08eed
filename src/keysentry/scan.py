"""``keysentry scan``: files, directories and stdin through the scanner into a report."""

from __future__ import annotations

from keysentry.config import Config
from keysentry.report import Report, ScanError
from keysentry.scanner import Scanner
from keysentry.sources.files import STDIN, file_entries, open_entry, stdin_stream


def scan_paths(paths: list[str], config: Config, report: Report | None = None) -> Report:
    """Scan every file the paths name; unreadable ones are recorded and skipped."""
    scanner = Scanner(config, report or Report())
    if STDIN in paths:
        scanner.scan_stream(stdin_stream(), "<stdin>", source="stdin")
        scanner.report.stats["files_scanned"] += 1
    for entry in file_entries(paths, config, scanner.report):
        try:
            with open_entry(entry) as stream:
                scanner.scan_stream(stream, entry.display)
        except OSError as exc:
            scanner.report.errors.append(ScanError(entry.display, exc.strerror or str(exc)))
            continue
        scanner.report.stats["files_scanned"] += 1
    return scanner.report
