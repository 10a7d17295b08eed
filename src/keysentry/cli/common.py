"""What every scanning command shares: report options, config loading, output, exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from keysentry import config as config_mod
from keysentry.model.report import EXIT_INCOMPLETE, FAIL_ON, Report
from keysentry.model.text import escape_text

F = TypeVar("F", bound=Callable[..., Any])
_CONFIG_META = "keysentry.config"


def report_options(func: F) -> F:
    """--format, --output, --show-secrets, --fail-on, --config, --color, --verify."""
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
            "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
            help="Configuration file (default: nearest .keysentry.toml or pyproject.toml).",
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
            "--baseline", type=click.Path(dir_okay=False, path_type=Path),
            help="Baseline of accepted keys: fail only on keys not in it"
            " (default: baseline in the configuration).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _parse_report_targets(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[Any, ...]:
    from keysentry.audits.publish import parse_target

    try:
        return tuple(parse_target(v) for v in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


def load_config(config_path: Path | None) -> config_mod.Config:
    """The configuration, or exit 2 with a message that names the file and key."""
    try:
        config = config_mod.load(config_path, Path.cwd())
    except config_mod.ConfigError as exc:
        click.echo(f"keysentry: configuration error: {exc}", err=True)
        sys.exit(EXIT_INCOMPLETE)
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


def print_problems(report: Report) -> None:
    """What was not scanned (errors) and what was only partly (notes), on stderr."""
    for error in report.errors:
        click.echo(f"keysentry: {escape_text(error.path)}: {escape_text(error.message)}", err=True)
    for note in report.notes:
        click.echo(f"keysentry: note: {escape_text(note)}", err=True)


def verify_findings(report: Report) -> None:
    """--verify: each distinct key checked once; exit 2 when the endpoint is unusable."""
    from keysentry.guide.verify import VerifyConfigError, verify_report  # urllib only when asked

    try:
        verify_report(report)
    except VerifyConfigError as exc:
        click.echo(f"keysentry: {exc}", err=True)
        sys.exit(EXIT_INCOMPLETE)


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
    **_: Any,
) -> None:
    """Print errors to stderr, write the report, and exit with the scan's code."""
    from keysentry.audits import publish as reporting

    ctx = click.get_current_context(silent=True)
    config = (ctx.meta.get(_CONFIG_META) if ctx else None) or config_mod.Config()
    notes = apply_baseline_or_exit(report, reporting.baseline_file(baseline, config), command)
    if verify:
        verify_findings(report)
    print_problems(report)
    from keysentry.formats import FORMATS, RenderOptions

    options = RenderOptions(
        show_secrets=show_secrets, color=_use_color(color, output), command=command
    )
    rendered = FORMATS[format_](report, options)
    problems: list[str] = []
    if output is None:
        click.echo(rendered, nl=False, color=options.color)
    else:
        private = show_secrets and format_ in reporting.SECRET_CAPABLE
        try:
            reporting.write_file(output, rendered, private=private)
        except OSError as exc:
            problems.append(f"cannot write the report to {output}: {exc.strerror or exc}")
    problems += reporting.write_targets(report, list(report_targets), options)
    for line in notes + problems:
        click.echo(f"keysentry: {escape_text(line)}", err=True)
    code = report.exit_code(reporting.resolve_fail_on(fail_on, config))
    sys.exit(EXIT_INCOMPLETE if problems and code == 0 else code)


def apply_baseline_or_exit(report: Report, path: Path | None, command: str) -> list[str]:
    """Drop accepted findings; exit 2 when the baseline file cannot be used."""
    if path is None:
        return []
    from keysentry.audits.baseline import BaselineError
    from keysentry.audits.publish import apply_baseline

    try:
        return apply_baseline(report, path, report_stale=command not in ("ci", "hook"))
    except BaselineError as exc:
        click.echo(f"keysentry: baseline error: {exc}", err=True)
        sys.exit(EXIT_INCOMPLETE)
