"""``keysentry guide``: the revoke-and-rotate playbook for what an audit found."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from keysentry.cli.common import examples, load_config, scan_options
from keysentry.guide import playbook as guide_mod
from keysentry.guide.leaked_keys import GuideInput, ReportFileError, from_report_file
from keysentry.guide.purge import PurgeFileError, purge_file_for
from keysentry.guide.renderers import GUIDE_FORMATS
from keysentry.model.report import EXIT_INCOMPLETE
from keysentry.model.text import escape_text


def _fail(message: str) -> NoReturn:
    click.echo(f"keysentry: {message}", err=True)
    sys.exit(EXIT_INCOMPLETE)


def _write_purge_file(path: Path, audit: GuideInput, force: bool) -> str | None:
    """Write it and warn; the problem when it could not be written."""
    if not audit.keys:
        click.echo("keysentry: no key was found: no purge file written", err=True)
        return None
    try:
        count = purge_file_for(path, audit.keys, force=force)
    except PurgeFileError as exc:
        click.echo(f"keysentry: purge file not written: {exc}", err=True)
        return str(exc)
    shown = escape_text(str(path))
    click.echo(
        f"keysentry: wrote {count} key(s) to {shown} (mode 0600). It holds the full keys:"
        f" delete it as soon as the purge is done (rm -f {shown}).",
        err=True,
    )
    if Path(audit.origin).is_dir() and path.resolve().is_relative_to(audit.origin):
        click.echo(
            "keysentry: warning: the purge file is inside the work tree: never commit it"
            " (a path outside the repository is safer)",
            err=True,
        )
    return None


@click.command(epilog=examples(
    "keysentry guide",
    "keysentry guide --format markdown -o incident.md",
    "keysentry guide --from report.json --write-purge-file ../purge.txt",
))
@click.option(
    "--from", "from_report_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Build the guide from a keysentry --format json report instead of a fresh audit.",
)
@click.option(
    "--format", "-f", "format_", type=click.Choice(sorted(GUIDE_FORMATS)), default="text",
    show_default=True, help="text for a terminal, markdown for an incident ticket, json checklist.",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
    help="Write the guide to this file instead of standard output.",
)
@click.option(
    "--write-purge-file", "purge_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Write a git filter-repo --replace-text file holding the leaked keys (mode 0600).",
)
@click.option(
    "--force", is_flag=True,
    help="Overwrite an existing purge file; write --output even through a symbolic link.",
)
@click.option(
    "--verify", is_flag=True,
    help="Ask the DeepSeek API whether each key is still live (sends each key once).",
)
@scan_options
@click.option("--color/--no-color", default=None, help="Colour the text guide.")
def guide(
    from_report_path: Path | None,
    format_: str,
    output: Path | None,
    purge_path: Path | None,
    force: bool,
    verify: bool,
    config_path: Path | None,
    color: bool | None,
    excludes: tuple[str, ...],
    verbose: int,
) -> None:
    """Turn findings into an ordered revoke-and-rotate playbook, one section per key.

    Without --from it audits the current repository: working tree, staged content
    and history. Exit codes: 0 nothing found, 1 keys found, 2 usage error,
    incomplete audit, or a purge file that could not be written.
    """
    if from_report_path is not None:
        from keysentry.audits.repository import add_definitions

        try:
            audit = from_report_file(from_report_path)
        except ReportFileError as exc:
            _fail(str(exc))
        add_definitions(audit, Path.cwd())
    else:
        from keysentry.audits.repository import NotARepositoryError, audit_for_guide

        config = load_config(config_path, excludes, verbose)
        try:
            audit = audit_for_guide(Path.cwd(), config, progress=sys.stderr.isatty())
        except NotARepositoryError as exc:
            _fail(f"{exc} (run the guide inside a git repository, or pass --from REPORT)")
        for error in audit.errors:
            where, message = escape_text(error.path), escape_text(error.message)
            click.echo(f"keysentry: {where}: {message}", err=True)
    if verify:
        from keysentry.guide.verify import (  # urllib: when asked
            VerifyConfigError,
            verify_leaked_keys,
        )

        try:
            audit.keys = verify_leaked_keys(audit.keys)
        except VerifyConfigError as exc:
            _fail(str(exc))
    problem = None
    if purge_path is not None:
        problem = _write_purge_file(purge_path, audit, force)
    playbook = guide_mod.build(
        audit,
        purge_file=str(purge_path.resolve()) if purge_path is not None else None,
        purge_written=purge_path is not None and problem is None and bool(audit.keys),
        purge_problem=problem,
    )
    use_color = (
        color if color is not None
        else output is None and not os.environ.get("NO_COLOR") and sys.stdout.isatty()
    )
    rendered = GUIDE_FORMATS[format_](playbook, use_color and format_ == "text", verbose > 0)
    if output is None:
        click.echo(rendered, nl=False, color=use_color)
    else:
        from keysentry.audits.publish import write_file

        try:
            write_file(output, rendered, private=False, force=force)
        except OSError as exc:
            click.echo(f"keysentry: cannot write the guide to {output}: {exc.strerror or exc}",
                       err=True)
            sys.exit(EXIT_INCOMPLETE)
    sys.exit(playbook.exit_code())
