"""`gemini-cli chat`: a REPL at a terminal; one message per line from piped stdin.

The options and their checks; the loop itself is gemini_cli.runs.chat, imported only
when chat runs.
"""

from __future__ import annotations

from dataclasses import replace

import typer

from gemini_cli.cli import options
from gemini_cli.cli.invocation import debugging, io_context, turn_renderer
from gemini_cli.errors import UsageError
from gemini_cli.state import paths
# runs/, cli/repl.py, render/output.py, request/ and state/apikey.py are imported inside the
# command: runs/ loads httpx (~130 ms), cli/repl.py ~23 ms, render/output.py ~5 ms,
# request/templates.py ~6 ms, all paid by every --help and TAB otherwise.


@options.with_groups
def chat(
    generation: options.Values = options.GENERATION.without("stdin_position"),
    answer: options.Values = options.ANSWER.without("extract", "extract_last", "agent"),
    attachments: options.Values = options.ATTACH.replacing(attach=options.ChatAttach),
    rendering: options.Values = options.OUTPUT.without("output"),
    conversation: options.Values = options.CONVERSATION,
    tools: options.Values = options.TOOLS,
    connection: options.Values = options.CONNECTION,
) -> None:
    """Chat: a REPL at a terminal (/help lists its commands); from piped stdin, one message per line.

    Examples:

      gemini-cli chat -m pro --thinking high

      gemini-cli chat -c          (go on with the last conversation)

      gemini-cli chat --no-save < questions.txt   (one message per line)
    """
    flags = options.command_flags(locals())
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

    reader: repl.TerminalInput | repl.PipedInput
    if interactive:
        reader = repl.TerminalInput(paths.state_dir() / "chat_history", io)
    else:
        reader = repl.PipedInput(io.stdin.buffer)
    from gemini_cli.runs.tool_setup import open_tools

    # Functions checked and MCP servers started once for the session; a confirmation is a
    # line read like a message (piped stdin holds messages: nothing to confirm with there).
    with open_tools(settings, console, ask=repl.confirmer(reader) if interactive else None, debug=debugging()) as toolset:
        loop = Chat(settings, flags, console, key=key, interactive=interactive, reader=reader, edit=repl.edit_text,
                    renderer_for=turn_renderer(console), attachments=attach_specs, mime=mime, tools=toolset)
        code = loop.run(options.resume_from(flags))
    if code:
        raise typer.Exit(code)


