"""A whole-repository audit: working tree, staged content and history in one report.

This is what ``keysentry guide`` starts from when no ``--from`` report is given.
Each source keeps its own findings (a key in a file, staged, and in three commits
is five findings); the guide groups them by fingerprint.
"""

from __future__ import annotations

from pathlib import Path

from keysentry.audits import history
from keysentry.audits.env_definitions import find_definitions
from keysentry.audits.scan_files import scan_paths
from keysentry.audits.scan_staged import scan_staged
from keysentry.config import Config
from keysentry.guide.leaked_keys import GuideInput, from_report
from keysentry.guide.origins import variables
from keysentry.model.report import Report
from keysentry.sources.git import Git, GitError


class NotARepositoryError(Exception):
    """The directory is not inside a git work tree."""


def top_level(start: Path) -> Path:
    try:
        return Git(start).top_level()
    except GitError as exc:
        raise NotARepositoryError(str(exc)) from exc


def audit_repository(top: Path, config: Config, *, progress: bool = False) -> Report:
    """Scan the work tree, the index and every commit of the repository at top."""
    report = Report()
    scan_paths([str(top)], config, report)
    scan_staged(config, report, cwd=str(top))
    history.audit(top, config, report, progress=progress)
    return report


def audit_for_guide(start: Path, config: Config, *, progress: bool = False) -> GuideInput:
    """The guide's input: a fresh audit of the repository holding start."""
    top = top_level(start)
    audit = from_report(audit_repository(top, config, progress=progress), str(top))
    add_definitions(audit, top)
    return audit


def add_definitions(audit: GuideInput, root: Path) -> None:
    """Where the variables a bundler inlined the keys from are defined (.env*, CI)."""
    names = variables(f for key in audit.keys for f in key.findings)
    audit.definitions = find_definitions(root, names)
