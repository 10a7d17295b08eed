"""The ``keysentry`` click group: every command, each in a module imported when it runs."""

from __future__ import annotations

import importlib
from typing import Any

import click

from keysentry import __version__


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs (or help lists it).

    Every commit pays for the hook's start-up, so `keysentry hook` must not import
    what other commands need. Register a command as "name": "module:attribute".
    """

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """A signal that stops a command exits 2 with one line, not click's "Aborted!" (1)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            from keysentry.cli.output import stop

            stop("interrupted")


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    lazy={
        "scan": "keysentry.cli.scan:scan",
        "hook": "keysentry.cli.hook:hook",
        "install-hook": "keysentry.cli.install_hook:install_hook",
        "plugin-path": "keysentry.cli.plugin:plugin_path",
        "detect-secrets-init": "keysentry.cli.detect_secrets:detect_secrets_init",
        "detect-secrets-report": "keysentry.cli.detect_secrets:detect_secrets_report",
        "guide": "keysentry.cli.guide:guide",
        "baseline": "keysentry.cli.baseline:baseline",
        "ci": "keysentry.cli.ci:ci",
        "history": "keysentry.cli.history:history",
        "pre-receive": "keysentry.cli.pre_receive:pre_receive",
        "site": "keysentry.cli.site:site",
        "org": "keysentry.cli.org:org",
        "completion": "keysentry.cli.completion:completion",
    },
)
@click.version_option(__version__, prog_name="keysentry")
def group() -> None:
    """Find DeepSeek API keys in files, git history and client bundles."""
    from keysentry.audits import interrupt

    interrupt.install()
