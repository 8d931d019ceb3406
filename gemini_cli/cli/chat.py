"""`gemini-cli chat`: a REPL at a terminal; one message per line from piped stdin.

The options and their checks; the loop itself is gemini_cli.runs.chat, imported only
when chat runs.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import typer

from gemini_cli.cli import options as opt
from gemini_cli.errors import UsageError


def chat(
    model: opt.Model = None,
    profile: opt.Profile = None,
    template: opt.Template = None,
    param: opt.Param = None,
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
    image: opt.Image = None,
    audio: opt.Audio = None,
    aspect_ratio: opt.AspectRatioOption = None,
    image_size: opt.ImageSizeOption = None,
    voice: opt.Voice = None,
    media_dir: opt.MediaDir = None,
    service_tier: opt.ServiceTierOption = None,
    body_extra: opt.BodyExtra = None,
    attach: opt.ChatAttach = None,
    mime: opt.Mime = None,
    stream: opt.Stream = None,
    usage: opt.Usage = None,
    session: opt.SessionFile = None,
    continue_: opt.Continue = False,
    cid: opt.Cid = None,
    previous_interaction_id: opt.PreviousInteraction = None,
    store: opt.Store = None,
    save: opt.Save = None,
    lock_timeout: opt.LockTimeout = None,
    quiet: opt.Quiet = None,
    timeout: opt.Timeout = None,
    retries: opt.Retries = None,
    max_time: opt.MaxTime = None,
    base_url: opt.BaseUrl = None,
    api_version: opt.ApiVersion = None,
) -> None:
    """Chat: a REPL at a terminal (/help lists its commands); from piped stdin, one message per line."""
    flags = opt.command_flags(locals())
    from gemini_cli.request import templates
    from gemini_cli.state import apikey, config
    from gemini_cli.render.output import Console, isatty
    from gemini_cli.runs.session import Resume

    settings = config.resolve(flags, template=templates.from_flags(flags))
    settings = replace(settings, output="text")  # chat renders text; a config file's `output: json` is for generate
    interactive = isatty(sys.stdin)
    console = Console(quiet=settings.quiet)
    if settings.template is not None and settings.template.prompt is not None:
        console.warn(f"chat uses only the system, model and settings of template '{settings.template.name}', not its prompt")
    if not interactive:
        console.colour = False
    attachments = list(attach or [])
    if "-" in attachments:
        raise UsageError("chat reads its messages from stdin, so --attach - cannot be used; attach a file instead")
    from gemini_cli.runs.chat import Chat, check_attachment

    for spec in attachments:
        check_attachment(spec, mime)  # before the user types anything
    from gemini_cli.request.body import check_settings

    settings = check_settings(settings)  # a bad --schema or --tool mix, before the user types anything
    key = apikey.get(max_time=settings.max_time)
    loop = Chat(settings, flags, console, key=key, interactive=interactive, attachments=attachments, mime=mime)
    code = loop.run(Resume(session, continue_, cid, previous_interaction_id, store))
    if code:
        raise typer.Exit(code)


