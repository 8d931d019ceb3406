"""`gemini-cli generate [PROMPT]`: one-shot generation, streamed to stdout, saved as a turn."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer

from gemini_cli.cli import options as opt
from gemini_cli.errors import UsageError


def generate(
    prompt: Annotated[Optional[str], typer.Argument(help="The prompt; stdin is read too when it is not a terminal.")] = None,
    model: opt.Model = None,
    profile: opt.Profile = None,
    template: opt.Template = None,
    param: opt.Param = None,
    stdin_position: opt.StdinPositionOption = None,
    system: opt.System = None,
    system_file: opt.SystemFile = None,
    temperature: opt.Temperature = None,
    top_p: opt.TopP = None,
    max_tokens: opt.MaxTokens = None,
    seed: opt.Seed = None,
    stop: opt.Stop = None,
    thinking: opt.ThinkingLevel = None,
    thoughts: opt.Thoughts = None,
    tools: opt.Tools = None,
    schema: opt.Schema = None,
    json_mode: opt.JsonMode = None,
    markdown: opt.Markdown = None,
    extract: opt.Extract = False,
    extract_last: opt.ExtractLast = False,
    image: opt.Image = None,
    audio: opt.Audio = None,
    aspect_ratio: opt.AspectRatioOption = None,
    image_size: opt.ImageSizeOption = None,
    voice: opt.Voice = None,
    media_dir: opt.MediaDir = None,
    service_tier: opt.ServiceTierOption = None,
    agent: opt.Agent = None,
    body_extra: opt.BodyExtra = None,
    attach: opt.Attach = None,
    mime: opt.Mime = None,
    stream: opt.Stream = None,
    output: opt.Output = None,
    usage: opt.Usage = None,
    session: opt.SessionFile = None,
    continue_: opt.Continue = False,
    cid: opt.Cid = None,
    previous_interaction_id: opt.PreviousInteraction = None,
    store: opt.Store = None,
    save: opt.Save = None,
    lock_timeout: opt.LockTimeout = None,
    stdin: opt.ReadStdin = None,
    background: Annotated[bool, typer.Option("--background", help="Start in the background; print the interaction id and exit.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the request (key redacted) and send nothing.")] = False,
    quiet: opt.Quiet = None,
    timeout: opt.Timeout = None,
    retries: opt.Retries = None,
    max_time: opt.MaxTime = None,
    base_url: opt.BaseUrl = None,
    api_version: opt.ApiVersion = None,
) -> None:
    """Generate an answer to PROMPT (and/or stdin) and stream it to stdout."""
    flags = opt.command_flags(locals())
    from gemini_cli.request import templates
    from gemini_cli.state import config

    settings = config.resolve(flags, template=templates.from_flags(flags))
    try:
        outcome = _generate(settings, flags, prompt, attach, param, mime, session, continue_, cid,
                            previous_interaction_id, store, background, dry_run)
    except BaseException as exc:
        from gemini_cli.render.output import write_error_document

        write_error_document(settings.output, exc)
        raise
    if outcome is not None and outcome.error is not None:  # the turn failed: what arrived is saved
        from gemini_cli.render.output import write_error_document

        write_error_document(settings.output, outcome.error, outcome.result, saved=outcome.saved)
        raise outcome.error


def _generate(settings, flags, prompt, attach, param, mime, session, continue_, cid, previous_interaction_id,
              store, background, dry_run) -> Any:
    """The turn's runs.turn.Outcome (None for --dry-run); errors before the turn are raised."""
    from gemini_cli.state import apikey, config
    from gemini_cli.render.output import Console
    from gemini_cli.runs.session import Resume, open_session

    console = Console(quiet=settings.quiet)
    attachments = list(attach or [])
    if "-" in attachments and not settings.stdin:
        raise UsageError("--attach - reads stdin, which --no-stdin (or `stdin: false`) leaves alone")
    if background and (settings.extract or settings.extract_last):
        flag = "--extract-last" if settings.extract_last else "--extract"
        raise UsageError(f"{flag} prints a code block of the answer; --background prints only the interaction id")
    if not settings.stdin and not prompt and not attachments and settings.template is None:
        raise UsageError("no prompt: give PROMPT as an argument (stdin is left alone: --no-stdin or `stdin: false`)")
    text = read_prompt(prompt, stdin_is_attachment="-" in attachments or not settings.stdin, required=not attachments,
                       template=settings.template, params=param, position=flags["stdin_position"] or "before",
                       max_time=settings.max_time)
    resume = Resume(session, continue_, cid, previous_interaction_id, store)
    conversation = open_session(settings, resume, console.note)
    try:
        settings = config.remember(settings, flags, conversation.remembered())
        if background and not settings.store:
            raise UsageError("--background needs server-side storage; it cannot be combined with --no-store")
        key = None if dry_run else apikey.get(max_time=settings.max_time)
        from gemini_cli.cli.common import run_turn

        return run_turn(settings, console, conversation, text, attachments, mime, key=key, background=background,
                        dry_run=dry_run)
    finally:
        conversation.close()


def read_prompt(argument: str | None, *, stdin_is_attachment: bool = False, required: bool = True,
                template=None, params=None, position: str = "before", max_time: float | None = None) -> str | None:
    """The prompt: stdin (when piped) and the argument, placed by --stdin-position and -t (templates.py)."""
    if argument is not None and not argument.isascii():
        try:
            argument.encode("utf-8")  # Python keeps argv bytes that are not UTF-8 as lone surrogates
        except UnicodeEncodeError:
            raise UsageError("the PROMPT argument is not UTF-8 text (check the shell's locale)") from None
    piped = ""
    stdin = sys.stdin
    if not stdin_is_attachment and stdin is not None and not stdin.closed and not stdin.isatty():
        from gemini_cli.request.inputs import INLINE_LIMIT  # a whole request's limit bounds the prompt too

        from gemini_cli.request.inputs import read_within

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


