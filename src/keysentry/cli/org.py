"""``keysentry org [REPO...]``: an organisation's repositories, audited together on Dask."""

from __future__ import annotations

import atexit
import gc
import sys
from pathlib import Path
from typing import Any

import click

from keysentry.cli.common import finish, load_config, report_options
from keysentry.model.report import EXIT_INCOMPLETE

EXIT_INTERRUPTED = 130  # what a shell reports for SIGINT
MIB = 1 << 20
DEFAULT_SPLIT_MIB = 32  # audits/org_split.py DEFAULT_SPLIT_BYTES (not imported: no git here)


@click.command()
@click.argument("repos", nargs=-1, type=str)
@click.option(
    "--repos",
    "repos_files",
    multiple=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file of repositories: one path or clone URL per line, # comments.",
)
@click.option(
    "--discover",
    "discover_dirs",
    multiple=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Audit every repository (bare or not) found under DIR.",
)
@click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT",
    help="Run on this Dask scheduler (default: DASK_SCHEDULER_ADDRESS, else a LocalCluster).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="LocalCluster worker processes (default: one per core).",
)
@click.option(
    "--memory-limit",
    default="auto",
    show_default=True,
    metavar="SIZE",
    help="LocalCluster memory limit per worker, e.g. 2GiB (Dask pauses, then restarts, a"
    " worker above it).",
)
@click.option(
    "--timeout-per-repo",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop a repository's audit after this long and record it as failed.",
)
@click.option(
    "--split-above",
    type=click.FloatRange(min=0),
    default=DEFAULT_SPLIT_MIB,
    show_default=True,
    metavar="MIB",
    help="Split a repository whose object store is larger than this (MiB; a clone URL's"
    " once a worker cloned it) into object ranges audited by several tasks; 0: never split.",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record finished repositories here; a re-run skips those whose refs did not change.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display and no timing line.")
@report_options
def org(
    repos: tuple[str, ...],
    repos_files: tuple[Path, ...],
    discover_dirs: tuple[Path, ...],
    scheduler: str | None,
    workers: int | None,
    memory_limit: str,
    timeout_per_repo: float | None,
    split_above: float,
    state_path: Path | None,
    quiet: bool,
    config_path: Path | None,
    excludes: tuple[str, ...],
    **options: Any,
) -> None:
    """Audit many repositories at once: one report, each key grouped across repositories.

    Each repository gets what `keysentry history` does (every object it holds) plus
    its working tree, with its own .keysentry.toml unless --config is given. Clone
    URLs are cloned by the worker that audits them. Tasks run on Dask: a LocalCluster
    here by default, or the cluster at --scheduler.

    Exit codes: 0 nothing found, 1 keys found, 2 usage error or a repository that
    could not be audited, 130 interrupted (finished repositories are in --state).
    """
    # the last exit handler: the interpreter's collections at exit then skip the objects
    # Dask and the report left (measured: 0.2-0.3 s of wall time after the report is out)
    atexit.register(gc.freeze)
    from keysentry.audits import org as org_audit
    from keysentry.audits.org_cluster import ClusterError, ClusterSettings
    from keysentry.audits.org_state import StateFileError
    from keysentry.audits.org_task import TaskOptions

    try:
        specs = org_audit.collect(repos, repos_files, discover_dirs)
    except org_audit.OrgInputError as exc:
        raise click.UsageError(str(exc)) from exc
    if not specs:
        raise click.UsageError("no repository to audit: name some, or use --repos or --discover")
    # fail_on and baseline; repositories get it with --config, and --exclude in any case
    config = load_config(config_path, excludes, options["verbose"])
    task_options = TaskOptions(
        config=config if config_path is not None else None,
        excludes=excludes,
        show_secrets=options["show_secrets"],
        keep_secrets=options["show_secrets"] or options["verify"],
        timeout=timeout_per_repo,
    )
    settings = ClusterSettings(scheduler, workers, memory_limit, int(split_above * MIB) or None)
    timing = org_audit.Timing()
    try:
        report = org_audit.audit_organisation(
            specs,
            task_options,
            settings,
            state_path=state_path,
            progress=not quiet and sys.stderr.isatty(),
            timing=timing,
        )
    except (ClusterError, StateFileError) as exc:
        click.echo(f"keysentry: {exc}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    except KeyboardInterrupt:
        where = f"; finished repositories are in {state_path}" if state_path else ""
        click.echo(f"\nkeysentry: interrupted{where}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if not quiet:
        click.echo(f"keysentry: {timing.describe(len(specs))}", err=True)
    finish(report, command=org_audit.COMMAND, **options)
