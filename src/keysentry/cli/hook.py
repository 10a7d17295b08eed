"""``keysentry hook``: what the pre-commit hook runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from keysentry.audits.scan_files import scan_paths
from keysentry.cli.common import apply_baseline_or_exit, load_config, print_problems, scan_options
from keysentry.model.key import REVOKE_URL
from keysentry.model.report import Report
from keysentry.model.text import escape_text


def _blocked(count: int, message_file: bool) -> str:
    """What was blocked, in the words of the stage the hook runs at."""
    if message_file:
        return f"keysentry blocked this commit: its message holds {count} API key(s)."
    if os.environ.get("PRE_COMMIT_TO_REF"):  # pre-commit's pre-push stage
        return f"keysentry blocked this push: {count} API key(s) in the files it changes."
    return f"keysentry blocked this commit: {count} API key(s) staged."


def hook_message(report: Report, *, message_file: bool = False, verbose: int = 0) -> str:
    """Tells the committer what blocked the commit and what to do next."""
    lines = []
    for f in sorted(report.findings, key=lambda f: (f.path, f.line, f.column)):
        lines.append(
            f"{escape_text(f.path)}:{f.line}:{f.column}: {f.redacted}"
            f" ({f.provider}, {f.confidence} confidence, {f.fingerprint[:19]})"
        )
        if f.violation:
            lines.append(f"    CLIENT-SIDE: {f.violation} ({'; '.join(f.exposure_evidence)})")
        if verbose:
            lines.append(f"    fingerprint {f.fingerprint}; {escape_text(f.provider_evidence)}")
            if f.decoded_from:
                lines.append(f"    decoded from: {' > '.join(f.decoded_from)}")
    if message_file:
        lines.append("Rewrite the message without the key (the commit has not been made).")
    lines += [
        "",
        _blocked(len(report.findings), message_file),
        "Next steps:",
        "  1. Remove the key from the file (load it from an environment variable or a secret"
        " manager instead).",
        f"  2. Revoke it on {REVOKE_URL}: a key that reached a repository"
        " must be treated as leaked.",
        "  3. Run `keysentry guide` for the full revoke-and-rotate steps.",
        "A false positive? Add `keysentry: allow` to the line, or its fingerprint to"
        " allowed_fingerprints in [tool.keysentry].",
    ]
    return "\n".join(lines)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--commit-msg",
    "message_file",
    is_flag=True,
    help="FILES is the commit message file (the commit-msg stage): check the message.",
)
@click.option(
    "--pre-push", is_flag=True,
    help="Check the commits a `git push` sends (git's pre-push input; FILES are then the"
    " remote's name and URL).",
)
@scan_options
def hook(
    files: tuple[str, ...], message_file: bool, pre_push: bool, config_path: Path | None,
    excludes: tuple[str, ...], verbose: int,
) -> None:
    """Check what a commit stages; exit 1 blocks the commit.

    With FILES (the pre-commit framework passes them) those files are scanned; with
    none (`keysentry install-hook`'s git hook) the staged blobs in the index are.
    With --pre-push, the commits a push sends that the remote does not have yet.
    """
    if message_file and len(files) != 1:
        raise click.UsageError("--commit-msg takes exactly one FILE: the commit message file")
    config = load_config(config_path, excludes, verbose)
    if pre_push:
        from keysentry.cli.pre_push import pre_push_hook

        pre_push_hook(files[0] if files else None, config)
    if files:
        report = scan_paths(list(files), config)
    else:
        from keysentry.audits.scan_staged import scan_staged

        report = scan_staged(config)
    if config.baseline:  # keys the team already triaged do not block commits
        from keysentry.audits import publish  # only then: every commit pays imports

        apply_baseline_or_exit(report, publish.config_path(config, config.baseline), "hook")
    print_problems(report)
    if report.findings:
        click.echo(hook_message(report, message_file=message_file, verbose=verbose), err=True)
    sys.exit(report.exit_code())
