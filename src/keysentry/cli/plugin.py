"""``keysentry plugin-path``: the detect-secrets plugin file to name in --plugin."""

from __future__ import annotations

import click

from keysentry.cli.common import examples


@click.command("plugin-path", epilog=examples(
    "keysentry plugin-path",
    'detect-secrets scan --plugin "$(keysentry plugin-path)" .',
))
def plugin_path() -> None:
    """Print the path of the detect-secrets plugin (for `detect-secrets scan --plugin`).
    """
    # Imported here: detect-secrets takes ~0.1 s to import, which every commit's hook would pay.
    from keysentry.integrations import detect_secrets

    click.echo(detect_secrets.__file__)
