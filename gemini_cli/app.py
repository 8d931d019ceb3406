"""The root Typer app, global options, and THE error funnel (GeminiCliError -> exit code)."""

from __future__ import annotations

import codecs
import difflib
import errno
import importlib
import os
import re
import signal
import sys
import traceback

import typer
from click import Argument
from click.exceptions import ClickException, MissingParameter, NoArgsIsHelpError
from typer.core import TyperGroup

from gemini_cli import __version__
from gemini_cli.errors import ExitCode, GeminiCliError, Terminated
from gemini_cli.render.context import IOContext
from gemini_cli.render.terminal import for_stream
from gemini_cli.state.recording import RunCassette
# cli/shell_complete.py is imported inside main(), for a TAB only (~3 ms of every other start-up);
# the command modules are loaded by load_command, from COMMANDS.


class FunnelGroup(TyperGroup):
    """Turns every error into a message on stderr and the exit code of design.md §3;
    loads the commands of COMMANDS lazily."""

    def list_commands(self, ctx):
        return list(COMMANDS) + [name for name in super().list_commands(ctx) if name not in COMMANDS]

    def get_command(self, ctx, name):
        if name not in self.commands and name in COMMANDS:
            self.commands[name] = load_command(name)
        return self.commands.get(name)

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, implied_generate(args, self.list_commands(ctx), lambda: self._options("generate", ctx)))

    def _options(self, name, ctx) -> set[str]:
        command = self.get_command(ctx, name)
        return {opt for param in command.params for opt in param.opts + param.secondary_opts} if command else set()

    def make_context(self, info_name, args, parent=None, **extra):
        if parent is None:  # the invocation's I/O context: main()'s, or one per in-process run (tests)
            extra.setdefault("obj", IOContext.from_process())
        io = extra["obj"] if parent is None else parent.obj
        try:
            return super().make_context(info_name, args, parent, **extra)
        except NoArgsIsHelpError:
            raise
        except ClickException as exc:  # a usage error in the root's own flags (`gemini-cli --bogus`)
            io.error(usage_message(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:  # click would print "Aborted!" and exit 1
            _interrupted(io)

    def invoke(self, ctx):
        io = ctx.obj
        try:
            return super().invoke(ctx)
        except GeminiCliError as exc:
            io.error(exc.message, exc.label)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            io.error("interrupted")
            ctx.exit(int(ExitCode.SIGINT))
        except Terminated:
            io.error("terminated")
            ctx.exit(int(ExitCode.SIGTERM))
        except BrokenPipeError:
            _silence_stdout(io)
            ctx.exit(0)
        except OSError as exc:
            if not stdout_failed(io, exc):
                internal_error(ctx, exc)
            io.error(f"cannot write to stdout: {exc.strerror or exc}")
            _silence_stdout(io)
            ctx.exit(int(ExitCode.USAGE))
        except NoArgsIsHelpError:
            raise  # `gemini-cli history` alone: the help, as click shows it
        except ClickException as exc:  # a usage error found while parsing a command's flags
            io.error(usage_message(exc))
            ctx.exit(exc.exit_code)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
            internal_error(ctx, exc)


ROOT_FLAGS = frozenset({"--debug", "--version", "-V", "-h", "--help"})
ROOT_VALUE_OPTIONS = frozenset({"--record", "--replay"})


def implied_generate(args: list[str], commands: list[str], generate_options) -> list[str]:
    """`gemini-cli "How does AI work?"` and `gemini-cli -m pro hi` run generate: "generate" is
    put before the first argument after the root's own options when it is not a command, or
    is an option of generate's (generate_options() gives them). A single word close to a
    command name (`gemini-cli chta`) is left alone: it gets "no such command ... did you mean
    chat?", since a one-word prompt that is a typo costs a request; so is an option neither
    knows (`gemini-cli --bogus`: the root's "no such option"). `help [COMMAND ...]` and a
    lone `version` mean --help and --version (`generate help` sends the word)."""
    args = list(args)
    at = 0
    while at < len(args):
        word = args[at]
        if word in ROOT_VALUE_OPTIONS:
            at += 2
        elif word in ROOT_FLAGS or word.split("=", 1)[0] in ROOT_VALUE_OPTIONS:
            at += 1
        else:
            break
    if at >= len(args) or args[at] in commands or args[at] == "--":
        return args
    first, rest = args[at], args[at + 1:]
    if first == "help" and (not rest or rest[0] in commands):  # `gemini-cli help [COMMAND]`: not a prompt
        return args[:at] + rest + ["--help"]
    if first == "version" and not rest:
        return args[:at] + ["--version"]
    if first.startswith("-"):
        name = first.split("=", 1)[0] if first.startswith("--") else first[:2]
        return args[:at] + ["generate"] + args[at:] if name in generate_options() else args
    if re.fullmatch(r"[\w-]+", first) and did_you_mean(first, commands):
        return args
    return args[:at] + ["generate"] + args[at:]


def internal_error(ctx, exc: BaseException) -> None:
    io = ctx.obj
    if io.debug and io.stderr is not None:
        io.stderr.write(io.redact(for_stream(traceback.format_exc(), io.stderr)))
    io.error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
    ctx.exit(int(ExitCode.INTERNAL))


def stdout_failed(io: IOContext, exc: OSError) -> bool:
    """Whether stdout is what failed (a full disk, an I/O error). Our own files report their
    errors as GeminiCliError, so an OSError that gets here came from writing the output."""
    return io.stdout is None or exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF)


def usage_message(exc: ClickException) -> str:
    """click's usage error as one line, naming the command, with "did you mean" for a
    misspelled command or option."""
    ctx = getattr(exc, "ctx", None)
    message = exc.message if hasattr(exc, "possibilities") else exc.format_message()
    message = " ".join(message.split()).rstrip(".")
    message = message[:1].lower() + message[1:]
    if isinstance(exc, MissingParameter) and isinstance(exc.param, Argument) and not exc.message:
        message = f"missing argument '{exc.param.name}'"  # the same words whatever click's version
    unknown = re.match(r"no such (command|option):? '?([^' ]*)", message)
    if unknown and ctx is not None:
        kind, word = unknown.groups()
        if kind == "command":
            names = ctx.command.list_commands(ctx) if hasattr(ctx.command, "list_commands") else []
        else:
            names = [name for param in ctx.command.params for name in param.opts + param.secondary_opts
                     if name.startswith("--")]
        message = f"no such {kind}: {word}" + did_you_mean(word, names)
        root = word.split("=", 1)[0]
        if kind == "option" and ctx.parent is not None and root in ROOT_VALUE_OPTIONS | {"--debug"}:
            value = " FILE" if root in ROOT_VALUE_OPTIONS else ""
            message += (f"; {root} is an option of gemini-cli itself: it goes before the command "
                        f"(gemini-cli {root}{value} {ctx.info_name} ...)")
    if re.match(r"option '(-p|--param)' requires 2 arguments", message):
        message += ": -p/--param NAME VALUE fills a placeholder of the --template; the prompt is the PROMPT argument"
    if ctx is None:
        return message
    names = []
    while ctx is not None and ctx.parent is not None:
        names.insert(0, ctx.info_name)
        ctx = ctx.parent
    command = " ".join(names)
    return (f"{command}: " if command else "") + message + f" (see gemini-cli {command + ' ' if command else ''}--help)"


def did_you_mean(word: str, names: list[str]) -> str:
    close = [name for name in names if len(word) >= 3 and name.startswith(word)]
    close += [name for name in difflib.get_close_matches(word, names, n=2, cutoff=0.75) if name not in close]
    return f"; did you mean {' or '.join(close[:3])}?" if close else ""


def _interrupted(io: IOContext):
    io.error("interrupted")
    raise SystemExit(int(ExitCode.SIGINT))


def _silence_stdout(io: IOContext) -> None:
    """stdout's reader went away (`| head -1`): stop writing to it, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, io.stdout.fileno())  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):
        pass


app = typer.Typer(
    cls=FunnelGroup,
    name="gemini-cli",
    help="A fast, scriptable client for Gemini's Interactions API.\n\n"
         "`gemini-cli PROMPT` (or `gemini-cli -m MODEL PROMPT`) is short for `gemini-cli generate PROMPT`; "
         "`gemini-cli demo` shows a recorded answer without a key.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(ctx: typer.Context, value: bool) -> None:
    if value:
        ctx.obj.stdout.write(f"gemini-cli {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for internal errors."),
    record: str = typer.Option(
        None, "--record", metavar="FILE", envvar="GEMINI_CLI_RECORD",
        help="Append every HTTP exchange of this run to FILE (JSON Lines, no secrets).",
    ),
    replay: str = typer.Option(
        None, "--replay", metavar="FILE", envvar="GEMINI_CLI_REPLAY",
        help="Answer every request from FILE, recorded with --record: no network, no key.",
    ),
) -> None:
    io: IOContext = ctx.obj
    io.debug = debug
    io.recording = RunCassette(record, replay)  # both: a usage error, through the funnel
    ctx.call_on_close(io.recording.close)


# The commands, loaded on first use: start-up (`--version`, one command, a TAB
# completion) neither imports nor builds the commands it does not run.
COMMANDS = {  # name -> (module, attribute: a command function or a Typer sub-app)
    "generate": ("gemini_cli.cli.generate", "generate"),
    "chat": ("gemini_cli.cli.chat", "chat"),
    "batch": ("gemini_cli.cli.batch", "batch"),
    "upload": ("gemini_cli.cli.upload", "upload"),
    "files": ("gemini_cli.cli.files", "files_app"),
    "jobs": ("gemini_cli.cli.jobs", "jobs_app"),
    "history": ("gemini_cli.cli.history", "history_app"),
    "config": ("gemini_cli.cli.config_cmd", "config_app"),
    "completion": ("gemini_cli.cli.completion", "completion"),
    "models": ("gemini_cli.cli.models", "models"),
    "demo": ("gemini_cli.cli.demo", "demo"),
}


def load_command(name: str):
    """The click command for one entry of COMMANDS, built by Typer from its definition."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if not isinstance(target, typer.Typer):
        single = typer.Typer(add_completion=False, context_settings=app.info.context_settings)
        help_text, examples = split_examples(target.__doc__ or "")
        single.command(name=name, help=help_text, epilog=examples)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return command


def split_examples(doc: str) -> tuple[str, str | None]:
    """A command's docstring as (its help, the examples shown after the options): the part from
    a line `Examples:` on goes to the end of --help, where a reader looks for them."""
    import inspect

    text = inspect.cleandoc(doc)
    head, found, examples = text.partition("\nExamples:\n")
    # Typer keeps a docstring's line breaks: each paragraph is one line, for the terminal to wrap.
    head = "\n\n".join(" ".join(paragraph.split("\n")) for paragraph in head.strip().split("\n\n"))
    return (head, "Examples:\n" + examples) if found else (head, None)


def _on_sigterm(signum, frame):  # noqa: ARG001
    raise Terminated()


def main() -> None:
    """Run the app (gemini_cli.main, the console script, imports this module first)."""
    io = IOContext.from_process()
    if os.environ.get("_GEMINI_CLI_COMPLETE"):  # a shell asking for TAB candidates
        from gemini_cli.cli.shell_complete import answer

        sys.exit(answer(app, os.environ["_GEMINI_CLI_COMPLETE"], io))
    signal.signal(signal.SIGTERM, _on_sigterm)
    if io.stdout is None:  # started with stdout closed (`>&-`): an answer would have nowhere to go
        io.error("stdout is closed; redirect it (e.g. >/dev/null) instead of closing it")
        sys.exit(int(ExitCode.USAGE))
    _escape_unencodable(io)
    try:
        app(obj=io)
    except BrokenPipeError:
        _silence_stdout(io)
        sys.exit(0)
    except KeyboardInterrupt:  # outside a command (the funnel handles those)
        _interrupted(io)
    finally:
        if io.escaped and not io.quiet and io.stderr is not None:
            io.stderr.write(f"gemini-cli: warning: stdout's encoding ({io.stdout.encoding}) cannot hold "
                            f"{io.escaped} character(s) of the output; they were written as \\uXXXX escapes\n")


def _escape_unencodable(io: IOContext) -> None:
    r"""PYTHONIOENCODING=ascii and the like: characters stdout cannot hold are written as
    \uXXXX escapes (UTF-16 units, as JSON writes them, so -o json stays valid JSON), counted
    and reported once at the end, rather than failing the run."""
    def escape(exc):
        if not isinstance(exc, UnicodeEncodeError):
            raise exc
        text = exc.object[exc.start:exc.end]
        io.escaped += len(text)
        units = text.encode("utf-16-be", "surrogatepass")
        return "".join("\\u%02x%02x" % (units[i], units[i + 1]) for i in range(0, len(units), 2)), exc.end

    codecs.register_error("gemini-cli-escape", escape)
    try:
        if codecs.lookup(io.stdout.encoding or "utf-8").name != "utf-8":  # type: ignore[union-attr]
            io.stdout.reconfigure(errors="gemini-cli-escape")  # type: ignore[union-attr]
    except (AttributeError, LookupError, ValueError):
        pass
