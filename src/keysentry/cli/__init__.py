"""The ``keysentry`` command: argument parsing and wiring only; each command has a module."""

from __future__ import annotations

import click

from keysentry import __version__
from keysentry.cli import hook, plugin, scan


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keysentry")
def main() -> None:
    """Find DeepSeek API keys in files, git history and client bundles."""


main.add_command(scan.scan)
main.add_command(hook.hook)
main.add_command(plugin.plugin_path)
