"""`gemini-cli completion SHELL`: print the shell completion script (bash, zsh or fish)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from gemini_cli.cli.invocation import io_context
# cli/shell_complete.py is imported inside the command: completion --help needs it not (~3 ms).


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(
    shell: Annotated[Shell, typer.Argument(metavar="bash|zsh|fish", help="The shell: bash, zsh or fish.", case_sensitive=False, show_default=False)],
) -> None:
    """Print the completion script for a shell: bash, zsh or fish.

    bash: source <(gemini-cli completion bash)   (in ~/.bashrc)

    zsh: gemini-cli completion zsh > ~/.zfunc/_gemini-cli   (with ~/.zfunc on $fpath before compinit)

    fish: gemini-cli completion fish > ~/.config/fish/completions/gemini-cli.fish

    Subcommands, options, conversation ids, model names, profiles and templates complete from local files only.
    """
    from gemini_cli.cli.shell_complete import script

    io_context().stdout.write(script(shell.value))
