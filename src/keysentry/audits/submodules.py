"""Submodules in a history audit: every repository under the common git directory's
``modules/`` (so linked worktrees share it and it is audited once), each audited like
the superproject, its findings and errors labelled by the submodule's path."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from keysentry.audits import history as history_audit
from keysentry.audits.dates import DateWindow
from keysentry.config import Config
from keysentry.model.report import Report
from keysentry.sources.git import Git, GitError


def _common_dir(repo: str | Path) -> Path | None:
    try:
        out = Git(cwd=repo).run("rev-parse", "--path-format=absolute", "--git-common-dir")
    except GitError:
        return None
    return Path(os.fsdecode(out.strip()))


def _paths_by_name(git_dir: Path) -> dict[str, str]:
    """Submodule name -> path, from the repository's config (``submodule.NAME.path``)
    or, failing that, its ``.gitmodules`` at HEAD."""
    names: dict[str, str] = {}
    for source in (
        ("config", "--get-regexp"),
        ("config", "--blob", "HEAD:.gitmodules", "--get-regexp"),
    ):
        try:
            out = Git(git_dir=git_dir).run(*source, r"^submodule\..*\.path$", check=False)
        except GitError:
            continue
        for line in os.fsdecode(out).splitlines():
            key, _, path = line.partition(" ")
            names.setdefault(key[len("submodule.") : -len(".path")], path)
    return names


def submodule_repositories(repo: str | Path) -> list[tuple[str, Path]]:
    """(label, git dir) of every submodule repository, nested ones too (``a/b``)."""
    common = _common_dir(repo)
    if common is None:
        return []
    found: list[tuple[str, Path]] = []
    pending: list[tuple[str, Path, Path]] = [("", common, common / "modules")]
    while pending:
        prefix, owner, modules = pending.pop()
        if not modules.is_dir():
            continue
        paths = _paths_by_name(owner)
        for head in sorted(modules.rglob("HEAD")):
            git_dir = head.parent
            if (
                not (git_dir / "objects").is_dir()
                or "modules" in git_dir.relative_to(modules).parts
            ):
                continue
            name = git_dir.relative_to(modules).as_posix()
            label = prefix + paths.get(name, name)
            found.append((label, git_dir))
            pending.append((label + "/", git_dir, git_dir / "modules"))
    return sorted(found)


def audit_submodules(
    repo: str | Path,
    config: Config,
    report: Report,
    *,
    progress: bool = False,
    dates: DateWindow | None = None,
    **ranges: str | None,
) -> None:
    """Audit each submodule's history into report (only commits in ``dates``, when given);
    paths become ``SUBMODULE/PATH``."""
    for label, git_dir in submodule_repositories(repo):
        inner = history_audit.audit(git_dir, config, progress=progress, dates=dates, **ranges)  # type: ignore[arg-type]
        report.stats["submodules_audited"] += 1
        for finding in inner.findings:
            finding.path = f"{label}/{finding.path}"
            report.findings.append(finding)
        report.errors.extend(
            replace(error, path=f"{label}: {error.path}") for error in inner.errors
        )
        report.notes.extend(f"submodule {label}: {note}" for note in inner.notes)
        report.stats.update(inner.stats)
