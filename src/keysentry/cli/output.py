"""What the git hooks' commands print and how they stop, without click.

``keysentry hook`` and ``keysentry pre-receive`` run on every commit and every push, so
they print with these (cli/__init__.py says why); the click commands use them too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from keysentry.config import Config
    from keysentry.model.report import Report


def echo_err(line: str) -> None:
    """One line on standard error, as click.echo(err=True) writes it (ANSI-free text)."""
    sys.stderr.write(f"{line}\n")
    sys.stderr.flush()


def stop(message: str) -> NoReturn:
    """Say why on standard error and exit 2 (incomplete)."""
    from keysentry.model.report import EXIT_INCOMPLETE

    echo_err(f"keysentry: {message}")
    sys.exit(EXIT_INCOMPLETE)


TIMING_VERBOSITY = 2  # -vv: each file's scan time on stderr


def read_config(
    config_path: Path | None, excludes: tuple[str, ...] = (), verbose: int = 0
) -> Config:
    """The configuration plus the command line's --exclude globs (and -vv's timings), or
    exit 2 with a message that names the file and key."""
    from keysentry import config as config_mod

    try:
        config = config_mod.load(config_path, Path.cwd())
    except config_mod.ConfigError as exc:
        stop(f"configuration error: {exc}")
    if excludes:
        config.add_excludes(excludes)
    config.timings = verbose >= TIMING_VERBOSITY
    return config


def print_problems(report: Report) -> None:
    """What was not scanned (errors) and what was only partly (notes), on stderr."""
    for line in report.problem_lines():
        echo_err(f"keysentry: {line}")


def apply_baseline_or_exit(report: Report, path: Path | None, command: str) -> list[str]:
    """Drop accepted findings; exit 2 when the baseline file cannot be used."""
    if path is None:
        return []
    from keysentry.audits.publish import PublishError, apply_baseline_for

    try:
        return apply_baseline_for(report, path, command)
    except PublishError as exc:
        stop(str(exc))
