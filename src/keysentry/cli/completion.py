"""``keysentry completion bash|zsh|fish``: the shell completion script (click's)."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL; load it from your shell's start-up file:

    \b
      bash: eval "$(keysentry completion bash)"     (in ~/.bashrc)
      zsh:  eval "$(keysentry completion zsh)"      (in ~/.zshrc)
      fish: keysentry completion fish > ~/.config/fish/completions/keysentry.fish
    """
    from click.shell_completion import get_completion_class

    from keysentry.cli.group import group

    script_class = get_completion_class(shell)
    assert script_class is not None  # every SHELLS entry is one of click's
    # for the installed command, whatever ran this one (`python -m keysentry` too)
    script = script_class(group, {}, "keysentry", "_KEYSENTRY_COMPLETE")
    click.echo(script.source())
