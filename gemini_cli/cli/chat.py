"""`gemini-cli chat`: a REPL at a terminal; one message per line from piped stdin.

The options and their checks; the loop itself is gemini_cli.runs.chat, imported only
when chat runs.
"""

from __future__ import annotations

from dataclasses import replace

import typer

from gemini_cli.cli import options as opt
from gemini_cli.errors import UsageError


@opt.with_groups
def chat(
    generation: opt.Values = opt.GENERATION.without("stdin_position"),
    answer: opt.Values = opt.ANSWER.without("extract", "extract_last", "agent"),
    attachments: opt.Values = opt.ATTACH.replacing(attach=opt.ChatAttach),
    rendering: opt.Values = opt.OUTPUT.without("output"),
    conversation: opt.Values = opt.CONVERSATION,
    tools: opt.Values = opt.TOOLS,
    connection: opt.Values = opt.CONNECTION,
) -> None:
    """Chat: a REPL at a terminal (/help lists its commands); from piped stdin, one message per line.

    Examples:

      gemini-cli chat -m pro --thinking high

      gemini-cli chat -c          (go on with the last conversation)

      gemini-cli chat --no-save < questions.txt   (one message per line)
    """
    flags = opt.command_flags(locals())
    from gemini_cli.cli.invocation import io_context
    from gemini_cli.request import templates
    from gemini_cli.state import apikey, config
    from gemini_cli.render.output import Console

    io = io_context()
    settings = config.resolve(flags, template=templates.from_flags(flags, io.warn), io=io)
    settings = replace(settings, output="text")  # chat renders text; a config file's `output: json` is for generate
    interactive = io.stdin_isatty
    console = Console(quiet=settings.quiet, io=io)
    if settings.template is not None and settings.template.prompt is not None:
        console.warn(f"chat uses only the system, model and settings of template '{settings.template.name}', not its prompt")
    if not interactive:
        console.colour = False
    attach_specs, mime = list(flags["attach"] or []), flags["mime"]  # (`attachments` is the group's placeholder)
    if "-" in attach_specs:
        raise UsageError("chat reads its messages from stdin, so --attach - cannot be used; attach a file instead")
    from gemini_cli.runs.chat import Chat, check_attachment

    for spec in attach_specs:
        check_attachment(spec, mime)  # before the user types anything
    from gemini_cli.request.body import check_settings

    settings = check_settings(settings, console.warn)  # a bad --schema or --tool mix, before the user types anything
    key = apikey.get(io, max_time=settings.max_time)
    from gemini_cli.cli import repl
    from gemini_cli.cli.invocation import turn_renderer

    reader: repl.TerminalInput | repl.PipedInput
    if interactive:
        from gemini_cli.state import paths

        reader = repl.TerminalInput(paths.state_dir() / "chat_history", io)
    else:
        reader = repl.PipedInput(io.stdin.buffer)
    from gemini_cli.cli.invocation import debugging
    from gemini_cli.runs.tool_setup import open_tools

    # Functions checked and MCP servers started once for the session; a confirmation is a
    # line read like a message (piped stdin holds messages: nothing to confirm with there).
    with open_tools(settings, console, ask=repl.confirmer(reader) if interactive else None, debug=debugging()) as toolset:
        loop = Chat(settings, flags, console, key=key, interactive=interactive, reader=reader, edit=repl.edit_text,
                    renderer_for=turn_renderer(console), attachments=attach_specs, mime=mime, tools=toolset)
        code = loop.run(opt.resume_from(flags))
    if code:
        raise typer.Exit(code)


