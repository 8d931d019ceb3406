"""The root Typer app, global options, and THE error funnel (GeminiCliError -> exit code)."""

from __future__ import annotations

import os
import signal
import sys

import typer
from click.exceptions import ClickException
from typer.core import TyperGroup

from gemini_cli import __version__
from gemini_cli.errors import ExitCode, GeminiCliError, Terminated
from gemini_cli.render.output import redact

state = {"debug": False}

def report(message: str) -> None:
    sys.stderr.write(redact(f"gemini-cli: error: {message}\n"))
    sys.stderr.flush()


class FunnelGroup(TyperGroup):
    """Turns every error into a message on stderr and the exit code of design.md §3;
    loads the commands of COMMANDS lazily."""

    def list_commands(self, ctx):  # type: ignore[override]
        return list(COMMANDS) + [name for name in super().list_commands(ctx) if name not in COMMANDS]

    def get_command(self, ctx, name):  # type: ignore[override]
        if name not in self.commands and name in COMMANDS:
            self.commands[name] = load_command(name)
        return self.commands.get(name)

    def invoke(self, ctx):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except GeminiCliError as exc:
            report(exc.message)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            report("interrupted")
            ctx.exit(int(ExitCode.SIGINT))
        except Terminated:
            report("terminated")
            ctx.exit(int(ExitCode.SIGTERM))
        except BrokenPipeError:
            _silence_stdout()
            ctx.exit(0)
        except (typer.Exit, typer.Abort, ClickException):
            raise  # click's own usage errors exit 2 with the usage message
        except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
            if state["debug"]:
                import traceback

                sys.stderr.write(redact(traceback.format_exc()))
            report(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
            ctx.exit(int(ExitCode.INTERNAL))


def _silence_stdout() -> None:
    """stdout's reader went away (`| head -1`): stop writing to it, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


app = typer.Typer(
    cls=FunnelGroup,
    name="gemini-cli",
    help="A fast, scriptable client for Gemini's Interactions API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"gemini-cli {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for internal errors."),
) -> None:
    state["debug"] = debug


# The commands, loaded on first use: start-up (`--version`, one command, a TAB
# completion) neither imports nor builds the commands it does not run.
COMMANDS = {  # name -> (module, attribute: a command function or a Typer sub-app)
    "generate": ("gemini_cli.cli.generate", "generate"),
    "chat": ("gemini_cli.cli.chat", "chat"),
    "batch": ("gemini_cli.cli.batch", "batch"),
    "upload": ("gemini_cli.cli.upload", "upload"),
    "files": ("gemini_cli.cli.files", "files_app"),
    "history": ("gemini_cli.cli.history", "history_app"),
    "config": ("gemini_cli.cli.config_cmd", "config_app"),
    "completion": ("gemini_cli.cli.completion", "completion"),
}


def load_command(name: str):
    """The click command for one entry of COMMANDS, built by Typer from its definition."""
    import importlib

    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if not isinstance(target, typer.Typer):
        single = typer.Typer(add_completion=False, context_settings=app.info.context_settings)
        single.command(name=name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return command


def _on_sigterm(signum, frame):  # noqa: ARG001
    raise Terminated()


def main() -> None:
    if os.environ.get("_GEMINI_CLI_COMPLETE"):  # a shell asking for TAB candidates
        from gemini_cli.cli.complete import answer

        sys.exit(answer(app, os.environ["_GEMINI_CLI_COMPLETE"]))
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(0)
