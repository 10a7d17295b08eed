"""``keysentry install-hook``: git hooks for commits and pushes made without pre-commit."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from keysentry.cli.common import examples
from keysentry.model.report import EXIT_INCOMPLETE
from keysentry.model.text import escape_text

_EFFECT = {
    "pre-commit": "`git commit` now checks the staged content for keys",
    "pre-push": "`git push` now checks the commits it sends for keys",
    "pre-receive": "pushes to this repository are now checked for keys",
}


@click.command("install-hook", epilog=examples(
    "keysentry install-hook",
    "keysentry install-hook ../other-repo --force",
))
@click.argument("repo", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a hook keysentry did not write.")
@click.option(
    "--pre-push",
    "kind",
    flag_value="pre-push",
    help="Install a pre-push hook: `git push` checks the commits it sends.",
)
@click.option(
    "--pre-receive",
    "kind",
    flag_value="pre-receive",
    help="Install a pre-receive hook into a server's (bare) repository: every push to it is"
    " checked.",
)
@click.option(
    "--allow-bypass",
    is_flag=True,
    help="With --pre-receive: let pushers bypass with `git push -o keysentry.bypass=REASON`"
    " (logged); sets keysentry.allowBypass and receive.advertisePushOptions.",
)
def install_hook(repo: Path, force: bool, kind: str | None, allow_bypass: bool) -> None:
    """Install a git hook: pre-commit (default) scans what each commit stages.

    Honours core.hooksPath and linked worktrees. A hook keysentry did not write is
    left alone unless --force (then it is kept beside it with a .keysentry-backup suffix).
    """
    from keysentry.integrations import git_hook

    chosen = {"pre-push": git_hook.PRE_PUSH, "pre-receive": git_hook.PRE_RECEIVE}.get(
        kind or "", git_hook.PRE_COMMIT
    )
    if allow_bypass and chosen is not git_hook.PRE_RECEIVE:
        raise click.UsageError("--allow-bypass goes with --pre-receive")
    try:
        done = git_hook.install(repo, force=force, kind=chosen)
        if allow_bypass:
            git_hook.allow_bypass(repo)
    except git_hook.HookInstallError as exc:
        click.echo(f"keysentry: {escape_text(str(exc))}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    where = escape_text(str(done.path))
    if done.backup is not None:
        click.echo(f"keysentry: kept the previous hook as {escape_text(str(done.backup))}")
    if done.action == "unchanged":
        click.echo(f"keysentry: the {chosen.name} hook at {where} is already installed")
    else:
        click.echo(
            f"keysentry: {done.action} the {chosen.name} hook at {where}; {_EFFECT[chosen.name]}"
        )
