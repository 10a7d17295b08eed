"""``keysentry install-hook``: a git pre-commit hook for commits made without pre-commit."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from keysentry.model.report import EXIT_INCOMPLETE
from keysentry.model.text import escape_text


@click.command("install-hook")
@click.argument("repo", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a pre-commit hook keysentry did not write.")
def install_hook(repo: Path, force: bool) -> None:
    """Install a git pre-commit hook that scans what each commit stages.

    Honours core.hooksPath and linked worktrees. A hook keysentry did not write is
    left alone unless --force (then it is kept as pre-commit.keysentry-backup).
    """
    from keysentry.integrations.git_hook import HookInstallError, install

    try:
        done = install(repo, force=force)
    except HookInstallError as exc:
        click.echo(f"keysentry: {escape_text(str(exc))}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    where = escape_text(str(done.path))
    if done.backup is not None:
        click.echo(f"keysentry: kept the previous hook as {escape_text(str(done.backup))}")
    if done.action == "unchanged":
        click.echo(f"keysentry: the pre-commit hook at {where} is already installed")
    else:
        click.echo(
            f"keysentry: {done.action} the pre-commit hook at {where}; `git commit` now"
            " checks the staged content for keys"
        )
