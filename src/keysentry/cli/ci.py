"""``keysentry ci``: the CI secret-scanning step for pull requests, pushes and builds."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from keysentry.audits import ci_range as ci_mod
from keysentry.audits import interrupt
from keysentry.audits import publish as reporting
from keysentry.audits.publish import ReportTarget
from keysentry.cli.common import examples, finish, load_config, report_options
from keysentry.model.report import EXIT_INCOMPLETE, Report
from keysentry.model.text import escape_text


@click.command(epilog=examples(
    "keysentry ci",
    "keysentry ci --range origin/main..HEAD --dist dist",
    "keysentry ci --format sarif -o keysentry.sarif",
))
@click.option(
    "--range", "range_", metavar="BASE..HEAD",
    help="Audit the commits in HEAD and not in BASE (default: worked out from the GitHub"
    " Actions or GitLab CI environment).",
)
@click.option(
    "--dist", "dist", multiple=True, type=click.Path(path_type=str),
    help="Also scan this build output folder (repeatable; default: ci_dist in the"
    " configuration).",
)
@click.option(
    "--summary/--no-summary", default=True, show_default=True,
    help="Append a Markdown summary to $GITHUB_STEP_SUMMARY when it is set.",
)
@report_options
def ci(
    range_: str | None, dist: tuple[str, ...], summary: bool, config_path: Path | None,
    excludes: tuple[str, ...], **options: Any,
) -> None:
    """Audit the commits a pull request or push adds, and the build output.

    Run from the repository root. In GitHub Actions the default format is `github`
    (annotations on the pull request). Exit codes: 0 nothing new, 1 new keys found,
    2 usage error, incomplete scan or missing history.
    """
    config = load_config(config_path, excludes, options["verbose"])
    repo = Path.cwd()
    try:
        wanted = ci_mod.parse_range(range_) if range_ else ci_mod.detect(os.environ)
        commits = ci_mod.resolve(repo, wanted)
    except ci_mod.RangeError as exc:
        click.echo(f"keysentry: {escape_text(str(exc))}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    click.echo(f"keysentry: auditing {escape_text(commits.describe())}", err=True)
    folders = list(dist) or [str(reporting.config_path(config, d)) for d in config.ci_dist]
    report = Report()
    with interrupt.reported(report, "ci"):
        ci_mod.audit(repo, commits, folders, config, report)

    ctx = click.get_current_context()
    if (
        ctx.get_parameter_source("format_") is ParameterSource.DEFAULT
        and os.environ.get("GITHUB_ACTIONS") == "true"
    ):
        options["format_"] = "github"
    targets: list[ReportTarget] = [*reporting.config_targets(config), *options["report_targets"]]
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and step_summary and not any(reporting.is_step_summary(t.path) for t in targets):
        targets.append(ReportTarget("markdown", Path(step_summary)))
    options["report_targets"] = tuple(targets)
    finish(report, command="ci", **options)
