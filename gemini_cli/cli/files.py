"""`gemini-cli files list|get|delete`: the files uploaded to the Files API.

NAME is `files/<id>`, `<id>`, or the file's uri (as `upload` prints it).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gemini_cli.cli import options
from gemini_cli.cli.invocation import io_context
from gemini_cli.errors import one_line
from gemini_cli.render.terminal import for_stream
from gemini_cli.state import config
# runs/, api/ and render/ are imported inside the commands: runs/connection.py loads httpx
# (~85 ms), render/output.py ~5 ms, render/transcript.py ~12 ms, paid by every --help and TAB
# otherwise.

files_app = options.sub_app("files", "List, show and delete files uploaded to the Files API (they last 48 hours).")

COLUMNS = ("NAME", "DISPLAY NAME", "MIME TYPE", "SIZE", "STATE", "EXPIRES")


def _client(flags: dict[str, Any]):
    """A client for the command's connection flags, and its console."""
    from gemini_cli.runs.connection import connect
    from gemini_cli.render.output import Console

    io = io_context()
    settings = config.resolve(options.command_flags(flags), io=io)
    console = Console(quiet=settings.quiet, io=io)
    return connect(settings, console), console


def _write(text: str, console: Any) -> None:
    """To the I/O context's stdout, shown, never obeyed, on a terminal."""
    stdout = console.io.stdout
    stdout.write(for_stream(text, stdout))


@files_app.command("list")
@options.with_groups
def list_files(
    json_: Annotated[bool, typer.Option("--json", help="Print the File resources as a JSON array.")] = False,
    connection: options.Values = options.CONNECTION,
) -> None:
    """List every uploaded file (all pages): name, display name, MIME type, size, state, expiry."""
    flags = dict(locals())
    from gemini_cli.api import files
    from gemini_cli.render.output import dumps, table

    opened, console = _client(flags)
    with opened as client:
        found = list(files.iter_files(client))
    if json_:
        _write(dumps(found) + "\n", console)
        return
    if not found:
        console.note("no uploaded files")
        return
    _write(table(COLUMNS, [row(f) for f in found]), console)


def row(file: dict[str, Any]) -> tuple[str, ...]:
    from gemini_cli.render.progress import human_bytes
    from gemini_cli.render.transcript import short_time

    size = file.get("sizeBytes")
    try:
        size_text = human_bytes(int(size)) if size is not None else ""
    except (TypeError, ValueError):
        size_text = str(size)
    return (
        str(file.get("name") or ""),
        one_line(file.get("displayName")),
        str(file.get("mimeType") or ""),
        size_text,
        str(file.get("state") or ""),
        short_time(file.get("expirationTime")),
    )


@files_app.command("get")
@options.with_groups
def get_file(
    name: Annotated[str, typer.Argument(help="files/<id>, <id>, or the file's uri.", show_default=False)],
    connection: options.Values = options.CONNECTION,
) -> None:
    """Print one file's resource as JSON."""
    flags = dict(locals())
    from gemini_cli.api import files
    from gemini_cli.render.output import dumps

    files.file_name(name)  # a bad name is exit 2 before the key is needed
    opened, console = _client(flags)
    with opened as client:
        file = files.get(client, name)
    _write(dumps(file) + "\n", console)


@files_app.command("delete")
@options.with_groups
def delete_files(
    names: Annotated[list[str], typer.Argument(help="files/<id>, <id>, or the file's uri (several allowed).", show_default=False)],
    connection: options.Values = options.CONNECTION,
) -> None:
    """Delete files; stops at the first that cannot be deleted."""
    flags = dict(locals())
    from gemini_cli.api import files
    from gemini_cli.runs.media import forget

    normalised = [files.file_name(n) for n in names]
    opened, console = _client(flags)
    deleted: set[str] = set()
    try:
        with opened as client:
            for name in normalised:
                files.delete(client, name)
                deleted.add(name)
                console.note(f"deleted {name}")
    finally:
        if deleted:
            forget(deleted)
