"""What every scanning command shares: report options, config loading, output, exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from keysentry import config as config_mod
from keysentry.formats import FORMATS, RenderOptions
from keysentry.report import FAIL_ON, EXIT_INCOMPLETE, Report
from keysentry.text import escape_text

F = TypeVar("F", bound=Callable[..., Any])


def report_options(func: F) -> F:
    """--format, --output, --show-secrets, --fail-on, --config, --color."""
    options = [
        click.option(
            "--format", "-f", "format_", type=click.Choice(sorted(FORMATS)), default="text",
            show_default=True, help="Report format.",
        ),
        click.option(
            "--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path),
            help="Write the report to this file instead of standard output.",
        ),
        click.option(
            "--show-secrets", is_flag=True,
            help="Include full keys in the report. Off by default; nothing else prints a key.",
        ),
        click.option(
            "--fail-on", type=click.Choice(FAIL_ON), default="any", show_default=True,
            help="Which findings make the exit code 1: any key, only client-side exposure, never.",
        ),
        click.option(
            "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
            help="Configuration file (default: nearest .keysentry.toml or pyproject.toml).",
        ),
        click.option(
            "--color/--no-color", default=None,
            help="Colour the text report (default: when writing to a terminal; NO_COLOR honoured).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def load_config(config_path: Path | None) -> config_mod.Config:
    """The configuration, or exit 2 with a message that names the file and key."""
    try:
        return config_mod.load(config_path, Path.cwd())
    except config_mod.ConfigError as exc:
        click.echo(f"keysentry: configuration error: {exc}", err=True)
        sys.exit(EXIT_INCOMPLETE)


def _use_color(color: bool | None, output: Path | None) -> bool:
    if color is not None:
        return color
    if output is not None or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def finish(
    report: Report,
    *,
    command: str,
    format_: str,
    output: Path | None,
    show_secrets: bool,
    fail_on: str,
    color: bool | None,
    **_: Any,
) -> None:
    """Print errors to stderr, write the report, and exit with the scan's code."""
    for error in report.errors:
        click.echo(f"keysentry: {escape_text(error.path)}: {escape_text(error.message)}", err=True)
    options = RenderOptions(
        show_secrets=show_secrets, color=_use_color(color, output), command=command
    )
    rendered = FORMATS[format_](report, options)
    if output is None:
        click.echo(rendered, nl=False, color=options.color)
    else:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if show_secrets else 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(rendered)
    sys.exit(report.exit_code(fail_on))
