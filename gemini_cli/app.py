"""The root Typer app, global options, and THE error funnel (GeminiCliError -> exit code)."""

from __future__ import annotations

import os
import signal
import sys

import typer
from typer.core import TyperGroup

try:
    from click.exceptions import ClickException
except ImportError:  # typer >= 0.29 vendors click
    from typer._click.exceptions import ClickException

from gemini_cli import __version__
from gemini_cli.errors import ExitCode, GeminiCliError, Terminated
from gemini_cli.output import redact

state = {"debug": False}

def report(message: str) -> None:
    sys.stderr.write(redact(f"gemini-cli: error: {message}\n"))
    sys.stderr.flush()


class FunnelGroup(TyperGroup):
    """Turns every error into a message on stderr and the exit code of design.md §3."""

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


def _register() -> None:
    from gemini_cli.commands import chat, files, generate, upload

    app.command(name="generate", no_args_is_help=False)(generate.generate)
    app.command(name="chat")(chat.chat)
    app.command(name="upload")(upload.upload)
    from gemini_cli.commands import completion
    app.command(name="completion")(completion.completion)
    app.add_typer(files.files_app)
    app.add_typer(__import__("gemini_cli.commands.config_cmd", fromlist=["config_app"]).config_app)
    from gemini_cli.commands import history
    app.add_typer(history.history_app)


_register()


def _on_sigterm(signum, frame):  # noqa: ARG001
    raise Terminated()


def main() -> None:
    if os.environ.get("_GEMINI_CLI_COMPLETE"):  # a shell asking for TAB candidates
        from gemini_cli.completion import answer

        sys.exit(answer(app, os.environ["_GEMINI_CLI_COMPLETE"]))
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(0)
