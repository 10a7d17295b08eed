"""What every scanning command shares: report options, config loading, output, exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from keysentry import config as config_mod
from keysentry.cli.output import read_config
from keysentry.model.report import EXIT_INCOMPLETE, FAIL_ON, Report

F = TypeVar("F", bound=Callable[..., Any])
_CONFIG_META = "keysentry.config"
VERBOSE_HELP = (
    "Every exposure reason and more evidence per finding (default: the three strongest);"
    " -vv also prints each file's scan time on stderr."
)


def config_option(func: F) -> F:
    """--config: the one definition every command that reads the configuration uses."""
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
        help="Configuration file (default: nearest .keysentry.toml or pyproject.toml).",
    )(func)


def verbose_option(func: F) -> F:
    """-v/--verbose (a count): every reason and more evidence; -vv adds per-file timing."""
    return click.option("--verbose", "-v", count=True, help=VERBOSE_HELP)(func)


def scan_options(func: F) -> F:
    """--config, --exclude GLOB (repeatable), -v/--verbose: what every scanning command takes."""
    func = verbose_option(func)
    func = click.option(
        "--exclude", "excludes", multiple=True, metavar="GLOB",
        help="Do not scan paths matching this gitignore-style glob (repeatable; added to"
        " exclude in the configuration).",
    )(func)
    return config_option(func)


def report_options(func: F) -> F:
    """scan_options, plus --format, --output, --show-secrets, --fail-on, --color, --verify,
    --report, --force and --baseline."""
    from keysentry.formats import FORMATS  # here, not above: `keysentry hook` never renders

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
            "--fail-on", type=click.Choice(FAIL_ON), default=None,
            help="Which findings make the exit code 1: any key, only client-side exposure, never"
            " (default: fail_on in the configuration, else any).",
        ),
        click.option(
            "--color/--no-color", default=None,
            help="Colour the text report (default: when writing to a terminal; NO_COLOR honoured).",
        ),
        click.option(
            "--verify", is_flag=True,
            help="Ask the DeepSeek API whether each found key is still live (sends each key once;"
            " never without this flag). Endpoint: KEYSENTRY_VERIFY_BASE_URL.",
        ),
        click.option(
            "--report", "report_targets", multiple=True, metavar="FORMAT=PATH",
            callback=_parse_report_targets,
            help="Also write a report in FORMAT to PATH; repeat for several"
            " (e.g. --report sarif=keysentry.sarif --report junit=keysentry.xml).",
        ),
        click.option(
            "--force", is_flag=True,
            help="Write --output and --report files even through a symbolic link.",
        ),
        click.option(
            "--baseline", type=click.Path(dir_okay=False, path_type=Path),
            help="Baseline of accepted keys: fail only on keys not in it"
            " (default: baseline in the configuration).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return scan_options(func)


def examples(*commands: str) -> str:
    """A command's ``--help`` epilog: example command lines, printed as written."""
    return "\b\nExamples:\n" + "\n".join(f"  {c}" for c in commands)


def _parse_report_targets(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[Any, ...]:
    from keysentry.audits.publish import parse_target

    per_repository = ctx.command.name == "org"  # sarif-dir=DIR: one SARIF per repository
    try:
        return tuple(parse_target(v, per_repository) for v in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


def load_config(
    config_path: Path | None, excludes: tuple[str, ...] = (), verbose: int = 0
) -> config_mod.Config:
    """The configuration plus the command line's --exclude globs, or exit 2 with a message
    that names the file and key; kept for finish()."""
    config = read_config(config_path, excludes, verbose)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_CONFIG_META] = config  # finish() reads fail_on and baseline from it
    return config


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
    fail_on: str | None,
    color: bool | None,
    verify: bool = False,
    report_targets: tuple[Any, ...] = (),
    baseline: Path | None = None,
    verbose: int = 0,
    force: bool = False,
    **_: Any,
) -> None:
    """Publish the report (audits/publish.py), print what it says, exit with its code."""
    from keysentry.audits.publish import PublishError, Request, publish

    ctx = click.get_current_context(silent=True)
    config = (ctx.meta.get(_CONFIG_META) if ctx else None) or config_mod.Config()
    request = Request(
        command=command, format=format_, output=output, show_secrets=show_secrets,
        fail_on=fail_on, color=_use_color(color, output), verify=verify,
        targets=tuple(report_targets), baseline=baseline, verbose=verbose, force=force,
    )  # fmt: skip
    try:
        published = publish(report, request, config)
    except PublishError as exc:
        click.echo(f"keysentry: {exc}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    for line in published.before:
        click.echo(f"keysentry: {line}", err=True)
    if published.stdout is not None:
        click.echo(published.stdout, nl=False, color=request.color)
    for line in published.after:
        click.echo(f"keysentry: {line}", err=True)
    sys.exit(published.exit_code)
