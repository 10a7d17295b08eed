"""The check ``keysentry pre-receive`` runs on every push: click-free (cli/__init__.py
says why)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import NoReturn


def run_pre_receive(overrides: Mapping[str, object], started: float) -> NoReturn:
    """Check what the push on standard input adds; exit 1 rejects it, 0 accepts it."""
    from keysentry.audits.push_verdict import pre_receive as check
    from keysentry.cli.output import echo_err

    verdict = check(sys.stdin.read(), os.environ, overrides, started)
    for line in verdict.lines:
        echo_err(line)
    if verdict.timed_out:  # the worker thread and its git processes are abandoned
        sys.stderr.flush()
        os._exit(verdict.code)
    sys.exit(verdict.code)
