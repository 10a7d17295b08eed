"""``keysentry pre-receive``: what a server's ``hooks/pre-receive`` runs."""

from __future__ import annotations

import time
from pathlib import Path

import click

from keysentry.audits.push_policy import MODES


@click.command("pre-receive")
@click.option(
    "--timeout",
    type=float,
    default=None,
    help="Seconds the check may take (default: git config keysentry.timeout, else 4).",
)
@click.option(
    "--on-timeout",
    type=click.Choice(MODES),
    default=None,
    help="What a check out of time does to the push (default: keysentry.onTimeout, else reject).",
)
@click.option(
    "--on-error",
    type=click.Choice(MODES),
    default=None,
    help="What an incomplete check does to the push (default: keysentry.onError, else reject).",
)
@click.option(
    "--allow-bypass/--no-allow-bypass",
    default=None,
    help="Accept `git push -o keysentry.bypass=REASON`, logged (default: keysentry.allowBypass).",
)
@click.option(
    "--repo-config/--no-repo-config",
    default=None,
    help="Also honour the allow-list and baseline of the .keysentry.toml at the pushed tips"
    " (default: keysentry.repoConfig, else no).",
)
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The server's keysentry configuration (default: keysentry.config; none).",
)
@click.option(
    "--log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The push log (default: keysentry.log, else keysentry-push.log in the git directory).",
)
def pre_receive(**overrides: object) -> None:
    """Check what a push adds; exit 1 rejects it, 0 accepts it.

    Reads git's `<old> <new> <ref>` lines on standard input and scans only the objects
    no ref had before (quarantined objects included): blobs at every path, commit and
    tag messages, merges. Messages go to standard error, which git shows the pusher.
    """
    from keysentry.cli.pre_receive_check import run_pre_receive

    run_pre_receive(overrides, time.monotonic())
