"""``reconciler completion bash|zsh|fish``: the shell completion script, from click."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from reconciler.views import terminal

SHELLS = ("bash", "zsh", "fish")
_HOW = {
    "bash": 'eval "$(reconciler completion bash)"   # in ~/.bashrc',
    "zsh": 'eval "$(reconciler completion zsh)"    # in ~/.zshrc',
    "fish": "reconciler completion fish > ~/.config/fish/completions/reconciler.fish",
}


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    Examples:
      eval "$(reconciler completion bash)"    # in ~/.bashrc
      eval "$(reconciler completion zsh)"     # in ~/.zshrc
      reconciler completion fish > ~/.config/fish/completions/reconciler.fish
    """
    root = ctx.find_root().command
    shell_class = get_completion_class(shell)
    assert shell_class is not None  # the three shells are click's built-ins
    script = shell_class(root, {}, "reconciler", "_RECONCILER_COMPLETE").source()
    terminal.emit(script)
