"""``keysentry scan PATH...``"""

from __future__ import annotations

from typing import Any

import click

from keysentry.audits.scan_files import scan_paths
from keysentry.cli.common import finish, load_config, report_options


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--staged", is_flag=True,
    help="Scan what the next commit would contain (the git index), not the working tree;"
    " PATHS, if given, are git pathspecs that narrow it.",
)
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), default=None,
    help="Worker processes for a large scan (default: one per core; 1: scan in one process).",
)
@click.option(
    "--no-decode", is_flag=True,
    help="Scan bytes as they are: no archives, compressed files, base64, escapes or source maps.",
)
@report_options
def scan(
    paths: tuple[str, ...],
    staged: bool,
    jobs: int | None,
    no_decode: bool,
    config_path: Any,
    excludes: tuple[str, ...],
    **options: Any,
) -> None:
    """Scan files and directories (recursively) for DeepSeek API keys; '-' reads stdin.

    Exit codes: 0 nothing found, 1 keys found, 2 usage error or incomplete scan.
    """
    if not paths and not staged:
        raise click.UsageError("give at least one PATH to scan, or --staged")
    config = load_config(config_path, excludes, options["verbose"])
    if no_decode:
        config.decode = False
    if staged:
        from keysentry.audits.scan_staged import scan_staged

        report = scan_staged(config, pathspecs=paths)
    else:
        report = scan_paths(list(paths), config, jobs=jobs)
    finish(report, command="scan", **options)
