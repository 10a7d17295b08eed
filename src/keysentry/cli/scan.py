"""``keysentry scan PATH...``"""

from __future__ import annotations

from typing import Any

import click

from keysentry.cli.common import finish, load_config, report_options
from keysentry.scan import scan_paths


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@report_options
def scan(paths: tuple[str, ...], config_path: Any, **options: Any) -> None:
    """Scan files and directories (recursively) for DeepSeek API keys; '-' reads stdin.

    Exit codes: 0 nothing found, 1 keys found, 2 usage error or incomplete scan.
    """
    config = load_config(config_path)
    report = scan_paths(list(paths), config)
    finish(report, command="scan", **options)
