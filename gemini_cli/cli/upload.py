"""`gemini-cli upload FILE...`: Files API resumable upload; prints `name<TAB>uri` per file.

Every file is checked before anything is sent (missing, unreadable, a directory, empty,
over 2 GiB, type unknown without --mime: exit 2). A file whose content was uploaded
before and is still alive is reused from the local cache (media.py) unless --force.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from gemini_cli.cli import options
from gemini_cli.cli.invocation import io_context
from gemini_cli.errors import UsageError
from gemini_cli.render.terminal import for_stream
# runs/, api/, request/, render/ and state/apikey.py are imported inside the functions:
# runs/connection.py loads httpx (~85 ms), render/output.py ~5 ms, paid by every --help and TAB
# otherwise.

MIME_HELP = "MIME type of every FILE, overriding detection (name, then content)."


@dataclass(frozen=True)
class LocalFile:
    path: str
    size: int
    mime: str


@options.with_groups
def upload(
    files: Annotated[list[Path], typer.Argument(click_type=options.PATH, help="Files to upload (up to 2 GiB each).", show_default=False)],
    display_name: Annotated[
        Optional[str], typer.Option("--display-name", help="Display name (default: the file name); given to every FILE.")
    ] = None,
    mime: Annotated[Optional[str], typer.Option("--mime", help=MIME_HELP)] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the file is ACTIVE (processed).")] = True,
    json_: Annotated[bool, typer.Option("--json", help="Print the whole File resource (an array for several files).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Upload again even if the same content is already uploaded.")] = False,
    connection: options.Values = options.CONNECTION,
) -> None:
    """Upload FILEs to the Files API and print `name<TAB>uri` for each (files last 48 hours)."""
    flags = options.command_flags(locals())
    from gemini_cli.state import apikey, config
    from gemini_cli.render.output import Console, dumps

    io = io_context()
    settings = config.resolve(flags, io=io)
    console = Console(quiet=settings.quiet, io=io)
    checked = [check_file(str(path), mime) for path in files]
    key = apikey.get(io)

    from gemini_cli.api.files import wait_active
    from gemini_cli.runs.connection import open_client
    from gemini_cli.runs.media import upload_cached, wait_for

    results = []
    with open_client(settings, key, console) as client:
        for local in checked:
            name = os.path.basename(local.path)
            file = upload_cached(
                client, path=local.path, size=local.size, mime=local.mime,
                display_name=display_name or name, file_name=name, label=name, console=console, force=force,
            )
            if wait:
                file = wait_for(client, file, console)
            elif file.get("state") == "FAILED":
                file = wait_active(client, file)  # raises with the reason
            if json_:
                results.append(file)
            else:
                io.stdout.write(for_stream(f"{file.get('name', '')}\t{file.get('uri', '')}\n", io.stdout))
                io.stdout.flush()
    if json_:
        io.stdout.write(for_stream(dumps(results[0] if len(results) == 1 else results) + "\n", io.stdout))


def check_file(spec: str, mime: str | None) -> LocalFile:
    """A regular, readable, non-empty file of at most MAX_FILE_SIZE, and its MIME type."""
    from gemini_cli.api.files import MAX_FILE_SIZE
    from gemini_cli.request.inputs import HEAD_SIZE, open_error
    from gemini_cli.request.mime import check_mime, detect_mime
    from gemini_cli.render.progress import human_bytes

    if spec == "-":
        raise UsageError("upload needs a file: stdin cannot be uploaded (save it to a file first)")
    path = os.path.expanduser(spec)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat rejects it below
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise open_error(spec, exc) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{spec}: is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{spec}: not a regular file (a pipe or device cannot be uploaded; save it to a file first)")
        if st.st_size == 0:
            raise UsageError(f"{spec}: file is empty")
        if st.st_size > MAX_FILE_SIZE:
            raise UsageError(
                f"{spec}: {human_bytes(st.st_size)} is over the Files API's limit of {human_bytes(MAX_FILE_SIZE)} per file"
            )
        try:
            head = os.read(fd, HEAD_SIZE)
        except OSError as exc:
            raise UsageError(f"{spec}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if mime is not None:
        mime = check_mime(mime)
    else:
        mime = detect_mime(os.path.basename(path), head)
        if mime is None:
            raise UsageError(f"{spec}: cannot tell the file's type; pass --mime (for example --mime video/mp4)")
    assert mime is not None  # check_mime keeps a given type
    return LocalFile(path, st.st_size, mime)
