"""The ``keysentry`` command: argument parsing and wiring only; each command has a module.

Every commit pays for the hook's start-up and every push for the server check's, and
importing click alone costs more than a third of a clean commit's check. So the git
hooks' own command lines (``keysentry hook [--config F] [--pre-push] [FILES]`` and
``keysentry pre-receive [OPTIONS]``) are parsed here without click (cli/plain_args.py);
anything else, ``--help`` and every odd form included, goes to the click group
(cli/group.py), which gives the same result and the usual messages.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


def main(args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any) -> Any:
    """The console script, ``python -m keysentry`` and the installed git hooks."""
    argv = list(sys.argv[1:] if args is None else args)
    from keysentry.cli.plain_args import fast_command

    command = fast_command(argv)
    if command is not None:
        command()  # exits
    from keysentry.cli.group import group

    return group.main(argv, prog_name=prog_name, **extra)
