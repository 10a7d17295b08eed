"""``keysentry detect-secrets-init`` and ``keysentry detect-secrets-report``: a portable
detect-secrets baseline, and ``detect-secrets audit --report`` for it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from keysentry.model.report import EXIT_INCOMPLETE
from keysentry.model.text import escape_text


@click.command("detect-secrets-init")
@click.option(
    "--baseline",
    "baseline_name",
    default=".secrets.baseline",
    show_default=True,
    help="The detect-secrets baseline (relative to the current folder, the repository root).",
)
@click.option(
    "--shim",
    default="tools/keysentry_detect_secrets.py",
    show_default=True,
    help="Where to write the one-line plugin shim (relative; committed with the baseline).",
)
def detect_secrets_init(baseline_name: str, shim: str) -> None:
    """Write a plugin shim into the repository and record it in the baseline by a relative
    path, so the baseline loads keysentry's plugin on every machine (run from the root).

    Creates the baseline (detect-secrets scan) when there is none; repoints an existing
    one, whatever path it recorded for keysentry's plugin.
    """
    from keysentry.integrations import detect_secrets_setup as setup

    if Path(shim).is_absolute() or ".." in Path(shim).parts:
        raise click.BadParameter("must be a path inside the repository", param_hint="--shim")
    try:
        result = setup.init(Path.cwd(), baseline_name, Path(shim).as_posix())
    except setup.SetupError as exc:
        click.echo(f"keysentry: {escape_text(str(exc))}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    if result.shim_written:
        click.echo(f"keysentry: wrote {shim}", err=True)
    for old in result.paths_replaced:
        click.echo(f"keysentry: {baseline_name}: replaced plugin path {escape_text(old)}", err=True)
    made = "created" if result.baseline_created else "updated"
    click.echo(
        f"keysentry: {made} {baseline_name}: plugin DeepSeekDetector at file://{shim};"
        f" commit both files",
        err=True,
    )


@click.command("detect-secrets-report")
@click.argument("baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--only-real", "only", flag_value="real", help="Only secrets audited as real.")
@click.option("--only-false", "only", flag_value="false", help="Only false positives.")
@click.option(
    "--show-secrets",
    is_flag=True,
    help="Keep the secrets detect-secrets' report holds (needs --output: a 0600 file).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
def detect_secrets_report(
    baseline: Path, only: str | None, show_secrets: bool, output: Path | None
) -> None:
    """`detect-secrets audit --report BASELINE` for a baseline with keysentry's plugin
    (detect-secrets' own command fails on custom plugins: Yelp/detect-secrets#611).

    Same JSON as detect-secrets', secrets redacted unless --show-secrets. Run it from the
    folder detect-secrets runs in (the repository root): it re-reads the files.
    """
    from keysentry.audits.publish import write_file
    from keysentry.integrations.detect_secrets_setup import audit_report

    if show_secrets and output is None:
        raise click.UsageError("--show-secrets writes only to a file: add --output FILE")
    text = audit_report(baseline, only, show_secrets=show_secrets) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        write_file(output, text, private=show_secrets)
