"""``keysentry history [REPO]``"""

from __future__ import annotations

import sys
from typing import Any

import click

from keysentry.audits import history as history_audit
from keysentry.audits import interrupt
from keysentry.cli.common import examples, finish, load_config, report_options
from keysentry.model.report import Report


@click.command(epilog=examples(
    "keysentry history",
    "keysentry history --range origin/main..HEAD",
    "keysentry history ../other-repo --format json -o history.json",
))
@click.argument("repo", required=False, default=".", type=click.Path(path_type=str))
@click.option("--since", metavar="REV", help="Audit only what REV..HEAD introduced.")
@click.option(
    "--range",
    "rev_range",
    metavar="BASE..HEAD",
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
    repo: str,
    since: str | None,
    rev_range: str | None,
    quiet: bool,
    no_submodules: bool,
    config_path: Any,
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
    config = load_config(config_path)
    progress = not quiet and sys.stderr.isatty()
    report = Report()
    with interrupt.reported(report, "history"):
        history_audit.audit(
            repo, config, report, since=since, rev_range=rev_range, progress=progress
        )
        if not no_submodules and since is None and rev_range is None:
            from keysentry.audits.submodules import audit_submodules

            audit_submodules(repo, config, report, progress=progress)
    finish(report, command="history", **options)
