"""`gemini-cli history ...`: list, show, export, delete, search saved conversations;
fetch and cancel (background) interactions, completing their saved turns.

ID is a conversation id or a unique prefix of one (as `history list` shows it).
Only fetch, cancel and `delete --remote` talk to the API; the rest never need a key.
What those do with the client is in runs/remote_history.py, imported only when they run.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from gemini_cli.cli import options
from gemini_cli.cli.invocation import io_context, debugging
from gemini_cli.errors import UsageError, one_line
from gemini_cli.render.terminal import for_stream, isatty
from gemini_cli.state import config
# state/store.py (~17 ms), render/output.py (~5 ms), render/transcript.py (~12 ms) and runs/
# (httpx, ~85 ms) are imported inside the commands that use them: history --help and a TAB need
# none of them.

history_app = options.sub_app(
    "history", "Saved conversations: list, show, export, delete, search; fetch or cancel background interactions."
)

COLUMNS = ("ID", "UPDATED", "MODEL", "TURNS", "MODE", "TITLE")

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ShowThoughts = Annotated[bool, typer.Option("--thoughts", help="Include the model's thought summaries.")]


class Format(str, Enum):
    markdown = "markdown"
    json = "json"


def _store():
    from gemini_cli.state.store import ConversationStore

    return ConversationStore()


def _console(quiet: bool | None):
    from gemini_cli.render.output import Console

    return Console(quiet=bool(quiet), io=io_context())


def _write(text: str) -> None:
    stdout = io_context().stdout
    stdout.write(for_stream(text, stdout))
    stdout.flush()


def _write_bytes(data: bytes) -> None:
    """A file's bytes exactly, unless stdout is a terminal: then as _write shows text."""
    stdout = io_context().stdout
    if isatty(stdout):
        return _write(data.decode("utf-8", "replace"))
    stdout.buffer.write(data)
    stdout.flush()


def _table(summaries: list[dict[str, Any]]) -> str:
    """The list as a table; the title last, on one line."""
    from gemini_cli.render.output import table
    from gemini_cli.render.transcript import short_time

    return table(COLUMNS, [
        (s["id"], short_time(s["updated"]) or "-", s["model"] or "-", str(s["turns"]), s["mode"] or "-",
         one_line(s["title"]))
        for s in summaries
    ])


def _print_summaries(summaries: list[dict[str, Any]], json_: bool, console: Any, empty: str) -> None:
    if json_:
        from gemini_cli.render.output import dumps

        _write(dumps(summaries) + "\n")
    elif summaries:
        _write(_table(summaries))
    else:
        console.note(empty)


@history_app.command("list")
def list_conversations(
    limit: Annotated[Optional[int], typer.Option("-n", "--limit", min=1, help="Show only the N newest.")] = None,
    json_: Json = False,
    quiet: options.Quiet = None,
) -> None:
    """List saved conversations, newest first: id, updated time, model, turns, mode, title."""
    summaries = _store().list(limit)
    _print_summaries(summaries, json_, _console(quiet), "no saved conversations")


def _locate(id_or_file: str) -> Path:
    """A conversation file: an existing path as given, else a conversation id or prefix."""
    candidate = Path(id_or_file).expanduser()
    if ("/" in id_or_file or id_or_file.endswith(".json")) and candidate.exists():
        return candidate
    return _store().find(id_or_file)


@history_app.command("show")
def show(
    conversation: Annotated[str, typer.Argument(metavar="ID|FILE", help="Conversation id, unique prefix, or file.", show_default=False,
                                                 click_type=options.CONVERSATION_ID_OR_FILE)],
    thoughts: ShowThoughts = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the conversation file exactly as stored.")] = False,
) -> None:
    """Print a conversation as a readable transcript (user turns, answers, usage)."""
    from gemini_cli.state import store
    from gemini_cli.render.transcript import render_text

    path = _locate(conversation)
    conv = store.load(path)  # checks it: a corrupt file is reported, never printed as if fine
    if json_:
        _write_bytes(path.read_bytes())
        return
    _write(render_text(conv, path, thoughts=thoughts))


@history_app.command("export")
def export(
    conversation: Annotated[str, typer.Argument(metavar="ID|FILE", help="Conversation id, unique prefix, or file.", show_default=False,
                                                 click_type=options.CONVERSATION_ID_OR_FILE)],
    format: Annotated[Format, typer.Option("--format", "-f", help="markdown, or json (the conversation in the current file format).")] = Format.markdown,
    thoughts: ShowThoughts = False,
) -> None:
    """Write a conversation to stdout as Markdown or JSON."""
    from gemini_cli.state import store
    from gemini_cli.render.transcript import render_markdown

    conv = store.load(_locate(conversation))
    if format is Format.json:
        _write_bytes(store.dumps(conv))
    else:
        _write(render_markdown(conv, thoughts=thoughts))


@history_app.command("path")
def path_(
    conversation: Annotated[Optional[str], typer.Argument(
        metavar="[ID]", help="Print this conversation's file instead.", show_default=False, click_type=options.CONVERSATION_ID)] = None,
) -> None:
    """Print where conversations are saved (or the file of one conversation)."""
    store = _store()
    _write(f"{store.find(conversation) if conversation else store.root}\n")


@history_app.command("search")
def search(
    text: Annotated[str, typer.Argument(help="Text to look for (any case) in what was asked and answered.", show_default=False)],
    limit: Annotated[Optional[int], typer.Option("-n", "--limit", min=1, help="Show only the N newest matches.")] = None,
    json_: Json = False,
    quiet: options.Quiet = None,
) -> None:
    """List the conversations whose text contains TEXT, newest first."""
    if not text:
        raise UsageError("give some text to search for")
    found = _store().search(text)
    _print_summaries(found if limit is None else found[:limit], json_, _console(quiet), f"no conversation contains {text!r}")


# -- the commands that talk to the API (runs/remote_history.py) ---------------------------------


def _settings(**flags: Any):
    return config.resolve(options.command_flags(flags), io=io_context())


def _client(settings: Any, console: Any):
    from gemini_cli.runs.connection import connect

    return connect(settings, console)


@history_app.command("delete")
@options.with_groups
def delete(
    conversations: Annotated[list[str], typer.Argument(
        metavar="ID|FILE...", help="Conversation ids, unique prefixes, or files.", show_default=False,
        click_type=options.CONVERSATION_ID_OR_FILE)],
    remote: Annotated[bool, typer.Option("--remote", help="Also delete the turns' interactions stored on the server.")] = False,
    lock_timeout: options.LockTimeout = None,
    connection: options.Values = options.CONNECTION,
) -> None:
    """Delete saved conversations (no confirmation). Every ID is checked before anything is deleted."""
    from gemini_cli.state import store

    paths = list(dict.fromkeys(_locate(c) for c in conversations))
    settings = _settings(**connection, lock_timeout=lock_timeout)
    console = _console(settings.quiet)
    if not remote:
        for path in paths:
            store.delete_file(path, settings.lock_timeout)
            console.note(f"deleted {path}")
        return
    from gemini_cli.runs import remote_history

    loaded = [(path, store.load(path)) for path in paths]  # a corrupt file: exit 2 before any DELETE
    remote_history.check_remote_ids(loaded)  # so is an id that is not safe in a URL (`../files/x`)
    with _client(settings, console) as client:
        for path, conv in loaded:
            for interaction_id in dict.fromkeys(t.interaction_id for t in conv.turns if t.interaction_id):
                remote_history.delete_remote(client, interaction_id, console)
            store.delete_file(path, settings.lock_timeout)
            console.note(f"deleted {path}")


@history_app.command("fetch")
@options.with_groups
def fetch(
    interaction_id: Annotated[str, typer.Argument(metavar="INTERACTION_ID", help="The id `generate --background` printed.", show_default=False)],
    wait: Annotated[bool, typer.Option("--wait", help="Poll until the interaction is no longer running.")] = False,
    stream: Annotated[bool, typer.Option("--stream", help="Stream it as it is generated (resumes a dropped stream).")] = False,
    interval: Annotated[float, typer.Option("--interval", click_type=options.Finite(0.001), help="Seconds between polls with --wait.")] = 2.0,
    thoughts: Annotated[bool, typer.Option("--thoughts", help="Print thought summaries to stderr.")] = False,
    media_dir: options.MediaDir = None,
    output: options.Output = None,
    usage: options.Usage = None,
    tools: options.Values = options.TOOLS.without("remote_mcp"),
    connection: options.Values = options.CONNECTION,
) -> None:
    """Get an interaction from the server and print its answer; a saved pending turn is completed.

    An interaction that ended requires_action has its function calls answered by the
    functions and MCP servers given here (or in the config), and goes on to its end."""
    settings = _settings(thoughts=thoughts or None, output=output, usage=usage, **tools, **connection, media_dir=media_dir)
    from gemini_cli.render.output import write_error_document

    try:
        failed = _fetch(settings, interaction_id, stream, wait, interval)
    except BaseException as exc:  # -o json/jsonl: an error document, never the success shape
        write_error_document(settings.output, exc, io=io_context())
        raise
    if failed is not None:  # with what arrived of the interaction
        write_error_document(settings.output, failed.error, failed.result, io=io_context())
        raise failed.error


def _fetch(settings: Any, interaction_id: str, stream: bool, wait: bool, interval: float) -> Any:
    """None when the interaction was printed; else a runs.turn.Outcome: what arrived and the error."""
    from gemini_cli.runs import remote_history
    from gemini_cli.render.output import renderer_for

    from gemini_cli.runs.tool_setup import open_tools, terminal_ask

    console = _console(settings.quiet)
    renderer = renderer_for(settings.output, console, thoughts=settings.thoughts)
    with open_tools(settings, console, ask=terminal_ask(console), debug=debugging()) as toolset:
        return remote_history.fetch(settings, interaction_id, stream=stream, wait=wait, interval=interval, console=console,
                             renderer=renderer, tools=toolset.loop)


@history_app.command("cancel")
@options.with_groups
def cancel(
    interaction_id: Annotated[str, typer.Argument(metavar="INTERACTION_ID", help="A running background interaction.", show_default=False)],
    connection: options.Values = options.CONNECTION,
) -> None:
    """Cancel a running background interaction; its saved pending turn is marked cancelled."""
    from gemini_cli.runs import remote_history

    settings = _settings(**connection)
    console = _console(settings.quiet)
    with _client(settings, console) as client:
        hop = remote_history.cancel(client, interaction_id)
    console.note(f"cancelled interaction {interaction_id} (status {hop['status']})")
    remote_history.complete_saved_turn(interaction_id, hop, settings, console)
