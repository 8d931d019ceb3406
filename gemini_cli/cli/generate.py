"""`gemini-cli generate [PROMPT]`: one-shot generation, streamed to stdout, saved as a turn."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from gemini_cli.cli import options
from gemini_cli.cli.invocation import debugging, io_context, turn_renderer
from gemini_cli.errors import UsageError
from gemini_cli.state import config
# runs/, render/output.py, request/ and state/apikey.py are imported inside the command: runs/
# loads httpx (~130 ms with pipeline.py), render/output.py ~5 ms, request/templates.py ~6 ms, all
# paid by every --help and TAB otherwise.


@options.with_groups
def generate(
    prompt: Annotated[Optional[str], typer.Argument(help="The prompt. Piped stdin is read too and goes before it, after a blank line (--no-stdin: not read).")] = None,
    generation: options.Values = options.GENERATION,
    answer: options.Values = options.ANSWER,
    attachments: options.Values = options.ATTACH,
    rendering: options.Values = options.OUTPUT,
    conversation: options.Values = options.CONVERSATION,
    tools: options.Values = options.TOOLS,
    stdin: options.ReadStdin = None,
    background: Annotated[bool, typer.Option("--background", help="Start in the background; print the interaction id and exit.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the request (key redacted) and send nothing.")] = False,
    connection: options.Values = options.CONNECTION,
) -> None:
    """Generate an answer to PROMPT (and/or stdin) and stream it to stdout.

    PROMPT is the text to send; piped stdin is read too and goes before it, after a blank line
    (--no-stdin leaves stdin alone). `gemini-cli PROMPT` is short for `gemini-cli generate PROMPT`.

    Examples:

      gemini-cli generate "How does AI work?"

      git diff | gemini-cli generate -s "You review code" "Review this diff" --thinking low

      gemini-cli generate -c "And in one sentence?"

      gemini-cli generate -a photo.jpg -o json "What is in it?" | jq -r '.output_text'

      gemini-cli generate --function 'log=git log -n {n:int} --oneline' "What changed lately?"
    """
    flags = options.command_flags(locals())
    from gemini_cli.request import templates

    io = io_context()
    settings = config.resolve(flags, template=templates.from_flags(flags, io.warn), io=io)
    try:
        outcome = _generate(io, settings, flags, prompt, background, dry_run)
    except BaseException as exc:
        from gemini_cli.render.output import write_error_document

        write_error_document(settings.output, exc, io=io)
        raise
    if outcome is not None and outcome.error is not None:  # the turn failed: what arrived is saved
        from gemini_cli.render.output import write_error_document

        write_error_document(settings.output, outcome.error, outcome.result, saved=outcome.saved, io=io)
        raise outcome.error


def _generate(io, settings, flags, prompt, background, dry_run) -> Any:
    """The turn's runs.turn.Outcome (None for --dry-run); errors before the turn are raised."""
    from gemini_cli.state import apikey, config
    from gemini_cli.render.output import Console
    from gemini_cli.runs.session import open_session

    console = Console(quiet=settings.quiet, io=io)
    attachments, mime = list(flags["attach"] or []), flags["mime"]
    if "-" in attachments and not settings.stdin:
        raise UsageError("--attach - reads stdin, which --no-stdin (or `stdin: false`) leaves alone")
    if background and (settings.extract or settings.extract_last):
        flag = "--extract-last" if settings.extract_last else "--extract"
        raise UsageError(f"{flag} prints a code block of the answer; --background prints only the interaction id")
    if not settings.stdin and not prompt and not attachments and settings.template is None:
        raise UsageError("no prompt: give PROMPT as an argument (stdin is left alone: --no-stdin or `stdin: false`)")
    text = read_prompt(prompt, io.stdin, stdin_is_attachment="-" in attachments or not settings.stdin, required=not attachments,
                       template=settings.template, params=flags["param"], position=flags["stdin_position"] or "before",
                       max_time=settings.max_time)
    resume = options.resume_from(flags)
    conversation = open_session(settings, resume, console)
    try:
        settings = config.remember(settings, flags, conversation.remembered())
        if background and not settings.store:
            raise UsageError("--background needs server-side storage; it cannot be combined with --no-store")
        key = None if dry_run else apikey.get(io, max_time=settings.max_time)
        from gemini_cli.runs.pipeline import run_turn
        from gemini_cli.runs.tool_setup import open_tools, terminal_ask

        with open_tools(settings, console, ask=terminal_ask(console), debug=debugging()) as tools:
            return run_turn(settings, conversation, text, attachments, mime, key=key, console=console,
                            renderer_for=turn_renderer(console), tools=tools.loop, background=background,
                            dry_run=dry_run)
    finally:
        conversation.close()


def read_prompt(argument: str | None, stdin: Any, *, stdin_is_attachment: bool = False, required: bool = True,
                template=None, params=None, position: str = "before", max_time: float | None = None) -> str | None:
    """The prompt: stdin (the I/O context's, when piped) and the argument, placed by
    --stdin-position and -t (templates.py)."""
    if argument is not None and not argument.isascii():
        try:
            argument.encode("utf-8")  # Python keeps argv bytes that are not UTF-8 as lone surrogates
        except UnicodeEncodeError:
            raise UsageError("the PROMPT argument is not UTF-8 text (check the shell's locale)") from None
    piped = ""
    if not stdin_is_attachment and stdin is not None and not stdin.closed and not stdin.isatty():
        from gemini_cli.request.inputs import INLINE_LIMIT, read_within  # a whole request's limit bounds the prompt too

        data = read_within(stdin, INLINE_LIMIT + 1, max_time)
        if len(data) > INLINE_LIMIT:
            raise UsageError(f"the prompt on stdin is over {INLINE_LIMIT // 1024**2} MiB, the limit of a whole request; "
                             "send less (stopped reading there)")
        try:
            piped = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("stdin is not UTF-8 text (attach binary data with --attach -)") from None
    if not piped.strip():
        piped = ""
    if template is None and position == "before":  # the usual case, without loading templates.py
        text = f"{piped.rstrip(chr(10))}\n\n{argument}" if piped and argument else (piped or argument)
    else:
        from gemini_cli.request.templates import compose

        text = compose(piped, argument, template=template, params=params, position=position)
    if text or not required:
        return text
    raise UsageError("no prompt: give PROMPT as an argument or pipe text on stdin (see gemini-cli generate --help)")


