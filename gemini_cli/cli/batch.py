"""`gemini-cli batch [INPUT] [-o OUTPUT] [-j N]`: one request per row, concurrently, resumable."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import stat
from enum import Enum
from pathlib import Path
from typing import IO, Annotated, Any, Optional

import typer

from gemini_cli.cli import options
from gemini_cli.cli.invocation import debugging, io_context
from gemini_cli.errors import ExitCode, GeminiCliError, Terminated, UsageError
from gemini_cli.state import config
# runs/, render/, request/ and state/apikey.py are imported inside the functions that run a batch:
# runs/ loads httpx (~130 ms), render/output.py ~5 ms, request/templates.py ~6 ms, all paid by
# every --help and TAB otherwise.

BATCH = "Batch"
MAX_JOBS = 256


class Format(str, Enum):
    jsonl = "jsonl"
    lines = "lines"
    csv = "csv"


BatchAttach = Annotated[Optional[list[str]], typer.Option(  # the rows may come from stdin, so no `-`
    "--attach", "-a", click_type=options.FILE_OR_URL, rich_help_panel=options.MEDIA,
    help="Attach a file, URL or Files API name/uri to every row's request (repeatable).")]
BatchStore = Annotated[Optional[bool], typer.Option(
    "--store/--no-store", rich_help_panel=options.CONV,
    help="Keep each row's interaction on the server (default), or send `store: false`.")]
BatchLockTimeout = Annotated[Optional[float], typer.Option(
    "--lock-timeout", click_type=options.Finite(0), metavar="SECONDS", rich_help_panel=options.CONV,
    help="Seconds to wait for another gemini-cli writing the same OUTPUT (default 30).")]
BatchThoughts = Annotated[Optional[bool], typer.Option(
    "--thoughts/--no-thoughts", rich_help_panel=options.GEN,
    help="Request thought summaries; each record keeps them under \"thoughts\".")]


@options.with_groups
def batch(
    input: Annotated[Optional[str], typer.Argument(metavar="[INPUT]", 
        help="Rows: a JSON Lines file (default), plain lines or CSV (--format); - or none for stdin.")] = None,
    output_file: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Write the records here (default stdout); an existing FILE is resumed.",
        rich_help_panel=BATCH)] = None,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", min=1, max=MAX_JOBS, help="Requests in flight at most (lowered on its own on 429).",
        rich_help_panel=BATCH)] = 8,
    format: Annotated[Optional[Format], typer.Option(
        "--format", help="jsonl (default; csv for a .csv file), lines (one prompt per line) or csv (with a header).",
        rich_help_panel=BATCH)] = None,
    prompt_column: Annotated[Optional[str], typer.Option(
        "--prompt-column", help="CSV column with the prompt (default: prompt).", rich_help_panel=BATCH)] = None,
    id_column: Annotated[Optional[str], typer.Option(
        "--id-column", help="CSV column with the row id (default: id, if there is one; else the line number).",
        rich_help_panel=BATCH)] = None,
    ordered: Annotated[bool, typer.Option(
        "--ordered", help="Write the records in input order (default: as rows finish).", rich_help_panel=BATCH)] = False,
    restart: Annotated[bool, typer.Option(
        "--restart", help="Overwrite OUTPUT instead of resuming from it.", rich_help_panel=BATCH)] = False,
    save: Annotated[bool, typer.Option(
        "--save", help="Save each row as a conversation in the history (off by default).", rich_help_panel=BATCH)] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the first row's request (key redacted) and the row count; send nothing.")] = False,
    remote: Annotated[bool, typer.Option(
        "--remote", help="Submit the rows as Gemini Batch API jobs (half price, done within 24 h) and print the job "
        "names; gemini-cli jobs fetch OUTPUT writes the records.", rich_help_panel=BATCH)] = False,
    wait: Annotated[bool, typer.Option(
        "--wait", help="With --remote: wait for the jobs and write their records.", rich_help_panel=BATCH)] = False,
    generation: options.Values = options.GENERATION.without("stdin_position").replacing(thoughts=BatchThoughts),
    service_tier: options.Values = options.ANSWER.pick("service_tier"),
    answer: options.Values = options.ANSWER.pick("tools", "schema", "json_mode"),
    attachments: options.Values = options.ATTACH.replacing(attach=BatchAttach),
    conversation: options.Values = options.CONVERSATION.pick("store", "lock_timeout").replacing(store=BatchStore,
                                                                                     lock_timeout=BatchLockTimeout),
    tools: options.Values = options.TOOLS,
    connection: options.Values = options.CONNECTION.without("max_time"),  # no deadline for a whole batch: each row has --timeout
) -> None:
    """Run one request per row of INPUT, -j at a time; one JSON record per row to OUTPUT.

    INPUT is a file of rows or - (stdin): JSON Lines ({"prompt": ...} or a string per line),
    plain lines, or CSV with a header. An existing OUTPUT is resumed: rows already done are skipped.

    Examples:

      gemini-cli batch tickets.jsonl -o tickets.out.jsonl -s "Classify: bug, feature or question"

      seq 1 20 | gemini-cli batch --format lines -j 4 --ordered

      gemini-cli batch reviews.csv --prompt-column text -o out.jsonl -j 16
    """
    flags = options.command_flags(locals())
    for name in ("output_file", "save", "format", "input", "remote", "wait"):  # batch's own, not settings
        flags.pop(name)
    from gemini_cli.request import templates
    from gemini_cli.render.output import Console
    from gemini_cli.request.rows import format_for, read_rows, unique_ids
    from gemini_cli.runs.batch import RowRequests
    from gemini_cli.runs.batch_output import Output

    io = io_context()
    settings = config.resolve(flags, template=templates.from_flags(flags, io.warn, per_row=True), io=io)
    console = Console(quiet=settings.quiet, io=io)
    if wait and not remote:
        raise UsageError("--wait goes with --remote (a local batch runs to the end anyway)")
    attach, mime, param = flags["attach"], flags["mime"], flags["param"]
    if "-" in (attach or []):
        raise UsageError("--attach - (stdin) cannot be used with batch: stdin may hold the rows")
    fmt = format_for(format.value if format else None, input)
    stream = open_input(input, io.stdin)
    out = Output(output_file, stdout=io.stdout, restart=restart)
    check_not_same(input, out.path)
    if remote:
        from gemini_cli.runs.tool_setup import local_tool_flags

        local = local_tool_flags(settings)
        if local:
            raise UsageError(f"{local[0]} cannot be used with --remote: the Batch API runs the rows, and no "
                             "function or MCP server of this machine can answer their calls"
                             + ("" if local[0].startswith("--") else
                                " (keep them in a profile to use them with --profile only)"))
    with stream, contextlib.ExitStack() as stack:
        read = lambda source: read_rows(source, fmt, prompt_column=prompt_column, id_column=id_column,  # noqa: E731
                                                  prompt_required=settings.template is None)
        rows = read(stream) if check_ids(input, read) else unique_ids(read(stream))
        if remote:
            from gemini_cli.cli.batch_remote import remote_batch

            requests = RowRequests(settings, console, attach=list(attach or []), mime=mime, params=list(param or []),
                                   save=save)
            return remote_batch(settings, console, requests, rows, out, input=input, dry_run=dry_run, wait=wait, save=save)
        from gemini_cli.runs.tool_setup import open_tools

        toolset = open_tools(settings, console, ask=None, debug=debugging())  # no one to confirm a call in a batch
        stack.callback(toolset.close)
        _run_local(settings, console, toolset, rows, out, stack, input=input, fmt=fmt, attach=attach, mime=mime,
                   param=param, save=save, dry_run=dry_run, jobs=jobs, ordered=ordered)


def _run_local(settings, console, toolset, rows, out, stack, *, input, fmt, attach, mime, param, save, dry_run, jobs,
               ordered) -> None:
    """The rows run here, each turn with the batch's functions and MCP servers."""
    from gemini_cli.state import apikey
    from gemini_cli.runs.batch import Batch, RowRequests

    io = console.io
    requests = RowRequests(settings, console, attach=list(attach or []), mime=mime, params=list(param or []),
                           save=save, tools=toolset)
    if dry_run:
        out.scan(rewrite=False)
        return show_first_request(settings, requests, rows, out)
    key = apikey.get(io)
    # Two batches on one OUTPUT would run rows twice and lose records: the second waits.
    held = out.lock(settings.lock_timeout, lambda: console.note(f"waiting for another gemini-cli writing {out.path}"))
    stack.enter_context(held)
    out.scan()
    from gemini_cli.runs.connection import open_client
    from gemini_cli.render.batch_progress import BatchProgress

    wanted = BatchProgress.wanted(console, io.stdout if out.path is None else None)
    progress = BatchProgress(console, count_rows(input, fmt) if wanted else None, enabled=wanted)
    with open_client(settings, key, console, retries=0, max_time=None, connections=jobs, note=progress.note) as client:
        runner = Batch(rows, requests, client, out, progress, jobs=jobs, ordered=ordered, retries=settings.retries)
        out.open()
        try:
            runner.run()
        finally:
            out.close()
    progress.summary(runner, out.path)
    finish(runner, out.path)


def open_input(path: str | None, stdin: Any) -> IO[bytes]:
    """The rows: the file at path, or stdin (the I/O context's) for none or "-"."""
    if path is None or path == "-":
        from gemini_cli.render.output import isatty

        if stdin is None or stdin.closed or (path is None and isatty(stdin)):
            raise UsageError("no rows: give INPUT (a file) or pipe the rows on stdin (see gemini-cli batch --help)")
        try:
            return os.fdopen(os.dup(stdin.fileno()), "rb")
        except (OSError, ValueError, AttributeError):  # a test runner's stdin has no descriptor
            return io.BytesIO(stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8"))
    if Path(path).is_dir():
        raise UsageError(f"INPUT {path} is a directory; name a file")
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read INPUT {path}: {exc.strerror or exc}") from None


def check_ids(path: str | None, read: Any) -> bool:
    """Duplicate ids refused before anything is sent: a regular file is read once ahead.
    False for a stream, which cannot be read twice: its rows are checked as they come."""
    from gemini_cli.request.rows import check_unique_ids

    if path in (None, "-") or not stat.S_ISREG(os.stat(path).st_mode):
        return False

    def again():
        with open(path, "rb") as file:
            yield from read(file)

    with open(path, "rb") as file:
        check_unique_ids(read(file), again)
    return True


def check_not_same(input: str | None, output: str | None) -> None:
    if input in (None, "-") or output is None:
        return
    try:
        same = os.path.samefile(input, output)
    except OSError:
        return
    if same:
        raise UsageError(f"OUTPUT {output} is INPUT: the records would overwrite the rows")


def count_rows(path: str | None, fmt: str) -> int | None:
    """Rows in a regular file, for the progress bar's total and ETA (None for a stream)."""
    if path in (None, "-"):
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as file:
            if fmt == "csv":
                from gemini_cli.request.rows import read_rows

                return sum(1 for _ in read_rows(file, "csv", prompt_required=False))
            return sum(1 for line in file if line.strip())
    except (OSError, GeminiCliError):
        return None


def show_first_request(settings: Any, requests: Any, rows: Any, out: Any) -> None:
    """--dry-run: the request of the first row that would be sent, then how many rows would be."""
    from gemini_cli.runs.connection import open_client
    from gemini_cli.runs.pipeline import show_dry_run

    count = bad = done = 0
    for row in rows:
        if row.error is not None:
            bad += 1
        elif row.key in out.done:
            done += 1
        elif count == 0:
            try:
                row_settings, sent, _ = requests.prepare(row, None)
            except UsageError:
                bad += 1
                continue
            with open_client(row_settings, None, requests.console) as client:
                show_dry_run(client, sent.body, requests.console.io.stdout)
            count = 1
        else:
            count += 1
    parts = [f"{count} row{'' if count == 1 else 's'} to send"]
    if done:
        parts.append(f"{done} already completed in {out.path}")
    if bad:
        parts.append(f"{bad} bad (recorded as failed when run)")
    requests.console.io.stdout.write(f"\n{', '.join(parts)}\n")


def finish(runner: Any, where: str | None) -> None:
    """The exit code: 130/143 when stopped by a signal, 3/5 when the batch failed as a whole,
    11 when some rows failed, else 0."""
    from gemini_cli.runs.batch import Interrupted

    stop = runner.stop
    if isinstance(stop, Interrupted):
        raise KeyboardInterrupt() if stop.signum == signal.SIGINT else Terminated()
    if isinstance(stop, GeminiCliError):
        raise GeminiCliError(f"batch stopped: {stop.message}", exit_code=stop.exit_code)
    if runner.failed:
        total = runner.failed + runner.completed
        raise GeminiCliError(f"{runner.failed} of {total} rows failed (each failure is recorded in {where or 'the output'})",
                             exit_code=ExitCode.BATCH_ROWS_FAILED)
