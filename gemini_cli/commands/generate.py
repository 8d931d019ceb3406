"""`gemini-cli generate [PROMPT]`: one-shot generation, streamed to stdout."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from gemini_cli.commands import options as opt
from gemini_cli.errors import UsageError


def generate(
    prompt: Annotated[Optional[str], typer.Argument(help="The prompt; stdin is read too when it is not a terminal.")] = None,
    model: opt.Model = None,
    system: opt.System = None,
    system_file: opt.SystemFile = None,
    temperature: opt.Temperature = None,
    top_p: opt.TopP = None,
    max_tokens: opt.MaxTokens = None,
    seed: opt.Seed = None,
    stop: opt.Stop = None,
    thinking: opt.ThinkingLevel = None,
    thoughts: opt.Thoughts = None,
    stream: opt.Stream = None,
    output: opt.Output = None,
    usage: opt.Usage = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the request (key redacted) and send nothing.")] = False,
    quiet: opt.Quiet = None,
    timeout: opt.Timeout = None,
    retries: opt.Retries = None,
    max_time: opt.MaxTime = None,
    base_url: opt.BaseUrl = None,
    api_version: opt.ApiVersion = None,
) -> None:
    """Generate an answer to PROMPT (and/or stdin) and stream it to stdout."""
    flags = dict(locals())
    from gemini_cli import config, request
    from gemini_cli.output import Console

    flags["system"] = opt.read_system(system, system_file)
    flags = {key: opt.enum_value(value) for key, value in flags.items()}
    settings = config.resolve(flags)
    console = Console(quiet=settings.quiet)
    text = read_prompt(prompt)
    body = request.create_body(
        model=settings.model,
        input=text,
        system_instruction=settings.system,
        generation_config=request.generation_config(settings),
        stream=settings.stream,
    )
    if dry_run:
        from gemini_cli.dryrun import show_request

        show_request(settings, body)
        return
    key = config.api_key()
    from gemini_cli.commands.common import open_client, run_and_render

    with open_client(settings, key, console) as client:
        run_and_render(client, body, settings, console)


def read_prompt(argument: str | None) -> str:
    """The prompt: stdin (when piped), a blank line, then the argument."""
    piped = ""
    stdin = sys.stdin
    if stdin is not None and not stdin.closed and not stdin.isatty():
        data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
        try:
            piped = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("stdin is not UTF-8 text (attach binary data with --attach -)") from None
    if not piped.strip():
        piped = ""
    if piped and argument:
        return f"{piped.rstrip(chr(10))}\n\n{argument}"
    if piped or argument:
        return piped or argument  # type: ignore[return-value]
    raise UsageError("no prompt: give PROMPT as an argument or pipe text on stdin (see gemini-cli generate --help)")
