"""``keysentry hook --pre-push``: what a clone's pre-push hook (or pre-commit) runs."""

from __future__ import annotations

import os
import sys

from keysentry.cli.output import apply_baseline_or_exit, echo_err, print_problems
from keysentry.config import Config, config_path

BYPASS = "Bypass once (only if you are sure): git push --no-verify"


def pre_push_hook(remote: str | None, config: Config) -> None:
    """``keysentry hook --pre-push``: the client-side check; exit 1 stops the push."""
    from keysentry.audits.push_verdict import pre_push

    stdin = "" if sys.stdin.isatty() else sys.stdin.read()
    report = pre_push(stdin, os.environ, remote, config)
    if config.baseline:
        apply_baseline_or_exit(report, config_path(config, config.baseline), "hook")
    print_problems(report)
    if report.findings:
        from keysentry.audits.push_message import rejection

        for line in rejection(report.findings, action="push", bypass=BYPASS):
            echo_err(line)
    sys.exit(report.exit_code())
