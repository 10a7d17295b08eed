"""The check ``keysentry hook`` runs on every commit: click-free (cli/__init__.py says why)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from keysentry.audits.staged_stage import StagedState, staged_states
from keysentry.cli.output import apply_baseline_or_exit, echo_err, print_problems, read_config
from keysentry.config import Config, baseline_file
from keysentry.model.finding import Finding
from keysentry.model.key import REVOKE_URL
from keysentry.model.report import Report
from keysentry.model.stage import CLEAR_COMMANDS, COMMITTED, NEVER_COMMITTED, PUBLIC, UNKNOWN
from keysentry.model.text import decode_path, escape_text


def _blocked(count: int, message_file: bool) -> str:
    """What was blocked, in the words of the stage the hook runs at."""
    if message_file:
        return f"keysentry blocked this commit: its message holds {count} API key(s)."
    if os.environ.get("PRE_COMMIT_TO_REF"):  # pre-commit's pre-push stage
        return f"keysentry blocked this push: {count} API key(s) in the files it changes."
    return f"keysentry blocked this commit: {count} API key(s) staged."


def hook_message(
    report: Report,
    states: Mapping[str, StagedState],
    *,
    message_file: bool = False,
    verbose: int = 0,
) -> str:
    """Tells the committer what blocked the commit, how far each key got, what to do."""
    lines = []
    for f in sorted(report.findings, key=Finding.sort_key):
        state = states.get(f.fingerprint, StagedState(NEVER_COMMITTED))
        lines.append(
            f"{escape_text(f.path)}:{f.line}:{f.column}: {f.redacted}"
            f" ({f.provider}, {f.confidence} confidence, {f.fingerprint[:19]})"
        )
        if f.violation:
            shown = f.exposure_evidence if verbose else f.exposure_evidence[:3]
            lines.append(f"    CLIENT-SIDE: {f.violation} ({'; '.join(shown)})")
        if verbose:
            lines.append(f"    fingerprint {f.fingerprint}; {escape_text(f.provider_evidence)}")
            if f.decoded_from:
                lines.append(f"    decoded from: {' > '.join(f.decoded_from)}")
        if not message_file:
            lines.append(f"    {_CASE[state.stage].format(ref=decode_path(state.ref or ''))}")
    lines += ["", _blocked(len(report.findings), message_file), "Next steps:"]
    if message_file:
        lines += [
            "  1. Rewrite the message without the key (the commit has not been made, so the key"
            " has not left this machine through git).",
            f"  2. Revoke it on {REVOKE_URL} only if it was shared some other way.",
        ]
    else:
        lines += _file_steps({states.get(f.fingerprint, _UNSEEN).stage for f in report.findings})
    lines += [
        "  3. Run `keysentry guide` for the full steps.",
        "A false positive? Add `keysentry: allow` to the line, or its fingerprint to"
        " allowed_fingerprints in [tool.keysentry].",
    ]
    return "\n".join(lines)


def _file_steps(stages: set[str]) -> list[str]:
    """Steps 1 and 2 for keys in files: what to do depends on how far the keys got."""
    lines = [
        "  1. Remove the key from the file (load it from an environment variable or a secret"
        " manager instead) and re-stage it.",
    ]
    if PUBLIC in stages:
        lines.append(
            f"  2. Revoke the pushed key(s) now on {REVOKE_URL}: a remote holds them, so"
            " they are leaked."
        )
    elif COMMITTED in stages or UNKNOWN in stages:
        lines.append(
            "  2. Rewrite local history before you push (`keysentry guide` gives the commands);"
            f" revoke the key on {REVOKE_URL} if this clone or a backup may be shared."
        )
    else:
        lines.append(
            "  2. No need to revoke: the key never left this machine through git (revoke it only"
            " if it was shared some other way). git already wrote the staged file into"
            " .git/objects; once the file is fixed and re-staged, drop that blob with:"
        )
        lines += [f"       {command}" for command in CLEAR_COMMANDS]
    return lines


_UNSEEN = StagedState(NEVER_COMMITTED)


_CASE = {
    NEVER_COMMITTED: "caught before any commit: not leaked through git",
    COMMITTED: "already committed ({ref} holds it in this file) but never pushed",
    PUBLIC: "already PUSHED ({ref} holds it in this file): revoke it now",
    UNKNOWN: "whether it was committed could not be checked (a line break in the file name)",
}


def run_hook(
    files: tuple[str, ...],
    config_path: Path | None,
    pre_push: bool,
    message_file: bool = False,
    excludes: tuple[str, ...] = (),
    verbose: int = 0,
) -> None:
    """Check what a commit stages (its message, or what a push sends); exits 1 to block."""
    config = read_config(config_path, excludes, verbose)
    if pre_push:
        from keysentry.cli.pre_push import pre_push_hook

        pre_push_hook(files[0] if files else None, config)
    if files:
        from keysentry.audits.scan_files import scan_paths

        report = scan_paths(list(files), config)
        _finish(report, config, message_file, verbose, staged_states)
    else:
        from keysentry.audits.scan_staged import StagedScan

        with StagedScan(config) as staged:  # its git cat-file answers the states too
            _finish(staged.run(), config, message_file, verbose, staged.states)


def _finish(
    report: Report,
    config: Config,
    message_file: bool,
    verbose: int,
    states_of: Callable[[list[Finding]], Mapping[str, StagedState]],
) -> None:
    """Block (exit 1) and say why, or let the commit through."""
    if report.findings:  # keys the team already triaged do not block commits
        accepted = baseline_file(None, config)
        if accepted is not None:
            apply_baseline_or_exit(report, accepted, "hook")
    print_problems(report)
    if report.findings:
        states = {} if message_file else states_of(report.findings)
        echo_err(hook_message(report, states, message_file=message_file, verbose=verbose))
    sys.exit(report.exit_code())
