"""``keysentry scan PATH...``"""

from __future__ import annotations

from typing import Any

import click

from keysentry.audits import interrupt
from keysentry.audits.scan_files import scan_paths
from keysentry.cli.common import examples, finish, load_config, report_options
from keysentry.model.report import Report


@click.command(epilog=examples(
    "keysentry scan .",
    "keysentry scan dist/ --format sarif -o keysentry.sarif",
    "curl -s https://example.com/app.js | keysentry scan -",
))
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
@click.option(
    "--include-deps", is_flag=True,
    help="Also scan dependency and tool folders (node_modules/, virtualenvs, __pycache__,"
    " .tox, .gradle, Pods/, vendor/bundle...), skipped by default.",
)
@click.option(
    "--respect-gitignore", is_flag=True,
    help="Skip files git ignores (in a git work tree). Off by default: build output such as"
    " dist/ is usually ignored and is where client-side keys ship.",
)
@report_options
def scan(
    paths: tuple[str, ...],
    staged: bool,
    jobs: int | None,
    no_decode: bool,
    include_deps: bool,
    respect_gitignore: bool,
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
    config.include_deps = config.include_deps or include_deps
    config.respect_gitignore = config.respect_gitignore or respect_gitignore
    report = Report()
    with interrupt.reported(report, "scan"):
        if staged:
            from keysentry.audits.scan_staged import scan_staged

            scan_staged(config, report, pathspecs=paths)
        else:
            scan_paths(list(paths), config, report, jobs=jobs)
    finish(report, command="scan", **options)
