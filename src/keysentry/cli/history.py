"""``keysentry history [REPO]``"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from keysentry.audits import history as history_audit
from keysentry.audits import interrupt
from keysentry.audits.dates import DateWindow
from keysentry.cli.common import examples, finish, load_config, report_options
from keysentry.model.report import Report

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


@click.command(epilog=examples(
    "keysentry history",
    "keysentry history --range origin/main..HEAD",
    "keysentry history ../other-repo --format json -o history.json",
))
@click.argument("repo", required=False, default=".", type=click.Path(path_type=str))
@click.option("--since", metavar="REV", help="Audit only what REV..HEAD introduced.")
@click.option(
    "--since-date", type=click.DateTime(DATE_FORMATS), metavar="DATE",
    help="Audit only commits dated DATE or later (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, UTC"
    " unless an offset is given) and what they hold.",
)
@click.option(
    "--until-date", type=click.DateTime(DATE_FORMATS), metavar="DATE",
    help="Audit only commits dated DATE or earlier (same forms as --since-date).",
)
@click.option(
    "--range", "rev_range", metavar="BASE..HEAD",
    help="Audit only what this range introduced (for pull requests).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option(
    "--no-submodules",
    is_flag=True,
    help="Do not audit the repositories of submodules (.git/modules).",
)
@report_options
def history(
    repo: str, since: str | None, since_date: datetime | None, until_date: datetime | None,
    rev_range: str | None, quiet: bool, no_submodules: bool, config_path: Any,
    excludes: tuple[str, ...],
    **options: Any,
) -> None:
    """Audit every object a repository holds (default: the current one) for DeepSeek API keys.

    Blobs reachable from any ref, reflog entries and dangling objects, commit and tag
    messages, and what merges introduced; each unique blob is scanned once. Every
    finding says which commit introduced it, which refs reach it, whether HEAD still
    holds it and whether it was already pushed. The repositories of submodules
    (.git/modules) are audited too, their findings under the submodule's path.

    Exit codes: 0 nothing found, 1 keys found, 2 usage error or incomplete audit.
    """
    if since is not None and rev_range is not None:
        raise click.UsageError("--since and --range cannot be used together")
    config = load_config(config_path, excludes, options["verbose"])
    progress = not quiet and sys.stderr.isatty()
    dates = DateWindow(since_date, until_date)
    report = Report()
    with interrupt.reported(report, "history"):
        history_audit.audit(
            repo, config, report, since=since, rev_range=rev_range, progress=progress, dates=dates
        )
        if not no_submodules and since is None and rev_range is None:
            from keysentry.audits.submodules import audit_submodules

            audit_submodules(repo, config, report, progress=progress, dates=dates)
    finish(report, command="history", **options)
