"""``keysentry baseline create|update|check``: the keys a team has triaged."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from keysentry.audits import baseline as baseline_mod
from keysentry.audits.publish import baseline_file
from keysentry.audits.scan_files import scan_paths
from keysentry.cli.common import examples, finish, load_config, report_options, scan_options
from keysentry.config import Config
from keysentry.model.report import EXIT_CLEAN, EXIT_INCOMPLETE
from keysentry.model.text import escape_text

F = TypeVar("F", bound=Callable[..., Any])


def _paths_argument(func: F) -> F:
    return click.argument("paths", nargs=-1, type=click.Path(path_type=str))(func)


def _acceptance_options(func: F) -> F:
    func = click.option(
        "--accepted-by", default="", metavar="NAME",
        help="Who accepted the new entries (recorded in the file).",
    )(func)
    return click.option(
        "--reason", default="", metavar="TEXT",
        help="Why the new entries are accepted (recorded in the file).",
    )(func)


def _file_option(func: F) -> F:
    return click.option(
        "--baseline", "-b", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
        help="Baseline file (default: baseline in the configuration, else"
        f" {baseline_mod.DEFAULT_FILE}).",
    )(func)


def _accept_client_option(func: F) -> F:
    return click.option(
        "--accept-client", is_flag=True,
        help="Also accept client-side keys (refused by default: they are public to every user).",
    )(func)


def _refuse_client(findings: list[Any], accept_client: bool) -> None:
    """Exit 2, saying why, when new client-side keys would be accepted without the flag."""
    client = baseline_mod.client_side(findings)
    if client and not accept_client:
        keys = len({f.fingerprint for f in client})
        _say(f"{keys} {baseline_mod.CLIENT_REFUSAL}:")
        for f in client:
            _say(f"  {f.path}:{f.line}: {f.redacted} ({f.fingerprint[:19]})")
        sys.exit(EXIT_INCOMPLETE)


def _target(option: Path | None, config: Config) -> Path:
    return baseline_file(option, config) or Path(baseline_mod.DEFAULT_FILE)


def _say(message: str) -> None:
    click.echo(f"keysentry: {escape_text(message)}", err=True)


def _scan(paths: tuple[str, ...], config: Config) -> Any:
    report = scan_paths(list(paths) or ["."], config)
    for error in report.errors:
        _say(f"{error.path}: {error.message}")
    return report


def _write(path: Path, baseline: baseline_mod.Baseline) -> None:
    try:
        path.write_text(baseline.to_json(), encoding="utf-8")
    except OSError as exc:
        _say(f"cannot write {path}: {exc.strerror or exc}")
        sys.exit(EXIT_INCOMPLETE)


@click.group(epilog=examples(
    'keysentry baseline create --reason "test fixtures"',
    "keysentry baseline check",
    "keysentry baseline update --keep-stale",
))
def baseline() -> None:
    """Accept the keys a team has triaged, so scans fail only on new ones.

    The file holds key fingerprints and locations, never keys. Paths are relative to the
    repository root, whatever folder is scanned or where from.
    """


@baseline.command(epilog=examples(
    'keysentry baseline create --reason "test fixtures" --accepted-by alice',
    "keysentry baseline create tests/ --accept-client",
))
@_paths_argument
@_file_option
@_acceptance_options
@scan_options
@click.option("--force", is_flag=True, help="Overwrite an existing baseline file.")
@_accept_client_option
def create(
    paths: tuple[str, ...], baseline_path: Path | None, reason: str, accepted_by: str,
    config_path: Path | None, force: bool, accept_client: bool, excludes: tuple[str, ...],
    verbose: int,
) -> None:
    """Scan PATHS (default: .) and accept every key found (client-side ones only with
    --accept-client).
    """
    config = load_config(config_path, excludes, verbose)
    target = _target(baseline_path, config)
    if target.exists() and not force:
        _say(f"{target} exists; use `keysentry baseline update`, or --force to start over")
        sys.exit(EXIT_INCOMPLETE)
    report = _scan(paths, config)
    _refuse_client(report.findings, accept_client)
    created = baseline_mod.create(report.findings, reason, accepted_by)
    _write(target, created)
    _say(
        f"wrote {target}: {len(created.entries)} key(s) at"
        f" {sum(len(e.locations) for e in created.entries)} location(s) accepted"
    )
    sys.exit(EXIT_CLEAN if report.complete else EXIT_INCOMPLETE)


@baseline.command(epilog=examples(
    "keysentry baseline update",
    "keysentry baseline update --keep-stale --accepted-by alice",
))
@_paths_argument
@_file_option
@_acceptance_options
@scan_options
@click.option(
    "--keep-stale", is_flag=True,
    help="Keep entries whose key is no longer found (default: prune them).",
)
@_accept_client_option
def update(
    paths: tuple[str, ...], baseline_path: Path | None, reason: str, accepted_by: str,
    config_path: Path | None, keep_stale: bool, accept_client: bool, excludes: tuple[str, ...],
    verbose: int,
) -> None:
    """Scan PATHS (default: .); accept new keys, prune entries no longer found.

    Existing entries keep their reason and who accepted them.
    """
    config = load_config(config_path, excludes, verbose)
    target = _target(baseline_path, config)
    try:
        old = baseline_mod.load(target)
    except baseline_mod.BaselineError as exc:
        _say(f"baseline error: {exc}")
        sys.exit(EXIT_INCOMPLETE)
    report = _scan(paths, config)
    known = {e.fingerprint for e in old.entries}
    _refuse_client([f for f in report.findings if f.fingerprint not in known], accept_client)
    if not report.complete and not keep_stale:
        _say("the scan was incomplete: nothing pruned (entries under unreadable paths kept)")
    result = baseline_mod.update(
        old, report.findings, reason, accepted_by, prune=report.complete and not keep_stale
    )
    _write(target, result.baseline)
    for loc in result.added:
        _say(f"added: {loc.path}:{loc.line}")
    for stale in result.pruned:
        _say(f"pruned: {stale.describe()}")
    _say(f"updated {target}: {len(result.added)} added, {len(result.pruned)} pruned")
    sys.exit(EXIT_CLEAN if report.complete else EXIT_INCOMPLETE)


@baseline.command(epilog=examples(
    "keysentry baseline check",
    "keysentry baseline check src/ --baseline ci/baseline.json",
))
@_paths_argument
@report_options
def check(
    paths: tuple[str, ...], config_path: Path | None, excludes: tuple[str, ...], **options: Any
) -> None:
    """Scan PATHS (default: .) against the baseline: exit 1 on keys not in it.

    Stale entries (keys no longer found) are listed on standard error.
    """
    config = load_config(config_path, excludes, options["verbose"])
    options["baseline"] = _target(options.get("baseline"), config)
    report = scan_paths(list(paths) or ["."], config)
    finish(report, command="baseline check", **options)
