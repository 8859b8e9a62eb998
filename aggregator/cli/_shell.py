"""`completion`: the script that teaches a shell to complete aggregator's commands."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from aggregator.cli._app import cli

SHELLS = ("bash", "zsh", "fish")


@cli.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL: commands, options, and the feed names
    and URLs of feeds.yaml wherever a command takes NAME_OR_URL.

    \b
    Example:
      eval "$(aggregator completion bash)"     # in ~/.bashrc
      eval "$(aggregator completion zsh)"      # in ~/.zshrc
      aggregator completion fish > ~/.config/fish/completions/aggregator.fish
    """
    script = get_completion_class(shell)
    assert script is not None  # click ships all three
    click.echo(script(cli, {}, "aggregator", "_AGGREGATOR_COMPLETE").source())
