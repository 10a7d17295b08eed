"""``keysentry hook``: what the pre-commit hook runs (the check is cli/hook_check.py)."""

from __future__ import annotations

from pathlib import Path

import click

from keysentry.cli.common import examples, scan_options


@click.command(epilog=examples(
    "keysentry hook",
    "keysentry hook src/config.py .env",
))
@click.argument("files", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--commit-msg",
    "message_file",
    is_flag=True,
    help="FILES is the commit message file (the commit-msg stage): check the message.",
)
@click.option(
    "--pre-push", is_flag=True,
    help="Check the commits a `git push` sends (git's pre-push input; FILES are then the"
    " remote's name and URL).",
)
@scan_options
def hook(
    files: tuple[str, ...], message_file: bool, pre_push: bool, config_path: Path | None,
    excludes: tuple[str, ...], verbose: int,
) -> None:
    """Check what a commit stages; exit 1 blocks the commit.

    With FILES (the pre-commit framework passes them) those files are scanned; with
    none (`keysentry install-hook`'s git hook) the staged blobs in the index are.
    With --pre-push, the commits a push sends that the remote does not have yet.
    """
    if message_file and len(files) != 1:
        raise click.UsageError("--commit-msg takes exactly one FILE: the commit message file")
    from keysentry.cli.hook_check import run_hook

    run_hook(files, config_path, pre_push, message_file, excludes, verbose)
