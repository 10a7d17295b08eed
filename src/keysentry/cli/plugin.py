"""``keysentry plugin-path``: the detect-secrets plugin file to name in --plugin."""

from __future__ import annotations

import click

from keysentry.plugins import detect_secrets


@click.command("plugin-path")
def plugin_path() -> None:
    """Print the path of the detect-secrets plugin (for `detect-secrets scan --plugin`)."""
    click.echo(detect_secrets.__file__)
