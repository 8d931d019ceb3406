"""`gemini-cli jobs list|show|wait|fetch|cancel|delete`: Batch API jobs (`batch --remote`).

JOB is a job name (`batches/<id>`) or the OUTPUT path a `batch --remote` submitted it for:
the jobs this machine submitted are recorded in the state folder (state/jobs.py), so that
`jobs fetch OUTPUT` works from another shell or a later cron run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gemini_cli.cli import options
from gemini_cli.cli.invocation import io_context
from gemini_cli.errors import ApiError, NotCompleted, UsageError
from gemini_cli.render.terminal import for_stream
from gemini_cli.state import config, jobs

# api/ and runs/ are imported inside the commands: they load httpx (about 160 ms), which
# `jobs --help` and a TAB completion must not pay (tests/test_remote_batch.py checks it); so is
# render/ (output, jobs: ~4 ms), which the root's --help loads this module without.
if TYPE_CHECKING:
    from gemini_cli.render.output import Console

jobs_app = options.sub_app("jobs", "Follow the Batch API jobs `batch --remote` submitted: list, show, wait, fetch, cancel, delete.")

Job = Annotated[str, typer.Argument(
    metavar="JOB", help="A job name (batches/<id>), or the OUTPUT file it was submitted for.", show_default=False)]


class ListOutput(str, Enum):
    text = "text"
    json = "json"


def _client(connection: options.Values) -> tuple[Any, Console]:
    """A client for the command's connection flags, and its console."""
    from gemini_cli.render.output import Console
    from gemini_cli.runs.connection import connect

    io = io_context()
    settings = config.resolve(options.command_flags(connection), io=io)
    console = Console(quiet=settings.quiet, io=io)
    return connect(settings, console), console


def _print(console: Any, text: str) -> None:
    """The answer on the invocation's stdout, control characters shown as text on a terminal."""
    stdout = console.io.stdout
    stdout.write(for_stream(text, stdout))


def resolve(job: str) -> list[tuple[str, dict[str, Any] | None]]:
    """(name, local record or None) for each job JOB stands for. An OUTPUT path stands for
    its jobs not fetched yet, else for those of its latest submission."""
    from gemini_cli.api import batches

    if job.startswith("batches/"):
        name = batches.job_name(job)
        return [(name, jobs.load(name))]
    records = jobs.for_output(job)
    if not records:
        raise UsageError(f"{job}: not a job name (batches/<id>), and no batch --remote was submitted from here for "
                         "an OUTPUT of that path (gemini-cli jobs list shows the jobs)")
    pending = [record for record in records if not record.get("fetched")]
    if not pending:
        latest = records[-1].get("submission")
        pending = [record for record in records if record.get("submission") == latest]
    return [(record["name"], record) for record in pending]


@contextmanager
def _connected(job: str, connection: options.Values) -> Iterator[tuple[list[str], Any, Console]]:
    """The job names JOB stands for (a bad JOB is exit 2 before the key is needed), a client
    for the command's connection flags, and its console."""
    names = [name for name, _ in resolve(job)]
    opened, console = _client(connection)
    with opened as client:
        yield names, client, console


def _local(job: str) -> list[dict[str, Any]]:
    """The local records JOB stands for: fetch needs the rows and OUTPUT."""
    found = resolve(job)
    missing = [name for name, record in found if record is None]
    if missing:
        raise UsageError(f"{', '.join(missing)} was not submitted from here (no record of its rows and OUTPUT in "
                         "the state folder); jobs fetch writes the records of jobs batch --remote submitted")
    return [record for _, record in found if record is not None]


@jobs_app.command("list")
@options.with_groups
def list_jobs(
    output: Annotated[ListOutput, typer.Option("--output", "-o", help="text (a table) or json (the job resources).")] = ListOutput.text,
    connection: options.Values = options.CONNECTION,
) -> None:
    """List every Batch API job of the key (all pages): name, display name, state, counts, created."""
    from gemini_cli.api import batches
    from gemini_cli.render.jobs import COLUMNS, row
    from gemini_cli.render.output import dumps, table

    opened, console = _client(connection)
    with opened as client:
        found = list(batches.iter_jobs(client))
    if output == ListOutput.json:
        _print(console, dumps(found) + "\n")
        return
    if not found:
        console.note("no batch jobs")
        return
    rows = [row(job, batches.state(job), batches.counts(job), batches.metadata(job)) for job in found]
    _print(console, table(COLUMNS, rows))


@jobs_app.command("show")
@options.with_groups
def show_job(job: Job, connection: options.Values = options.CONNECTION) -> None:
    """Print the job's resource as JSON (an array for an OUTPUT with several jobs)."""
    from gemini_cli.api import batches
    from gemini_cli.render.output import dumps

    with _connected(job, connection) as (names, client, console):
        found = [batches.get(client, name) for name in names]
    _print(console, dumps(found[0] if len(found) == 1 else found) + "\n")


@jobs_app.command("wait")
@options.with_groups
def wait_job(job: Job, connection: options.Values = options.CONNECTION) -> None:
    """Wait until the job has finished (polling, with backoff). Exit 0 when it succeeded,
    9 when it failed, expired or was cancelled, 7 at the --max-time deadline."""
    from gemini_cli.api import batches
    from gemini_cli.render.jobs import WaitProgress
    from gemini_cli.runs import remote_fetch

    ended = []
    with _connected(job, connection) as (names, client, console):
        for name in names:
            found = remote_fetch.wait(client, name, WaitProgress(console))
            console.note(remote_fetch.describe(name, found))
            if batches.state(found) != batches.SUCCEEDED:
                ended.append(f"{name} {batches.state(found)}")
    if ended:
        raise NotCompleted(f"{', '.join(ended)}: gemini-cli jobs fetch writes the results there are")


@jobs_app.command("fetch")
@options.with_groups
def fetch_job(
    job: Job,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the job to finish first (else exit 15 when it has not).")] = False,
    connection: options.Values = options.CONNECTION,
) -> None:
    """Write one record per row of a finished job to its OUTPUT, as batch does (appending;
    fetching again writes nothing twice). Exit 0 every row completed, 11 some failed, 9 the
    job failed, expired or was cancelled, 15 not finished yet (try again later)."""
    from gemini_cli.render.jobs import WaitProgress
    from gemini_cli.runs import remote_fetch

    records = _local(job)
    opened, console = _client(connection)
    with opened as client:
        error = remote_fetch.fetch_all(client, records, console, wait_first=wait, progress=WaitProgress(console))
    if error is not None:
        raise error


@jobs_app.command("cancel")
@options.with_groups
def cancel_job(job: Job, connection: options.Values = options.CONNECTION) -> None:
    """Ask the Batch API to cancel the job; jobs fetch then writes the results it has."""
    from gemini_cli.api import batches

    with _connected(job, connection) as (names, client, console):
        for name in names:
            batches.cancel(client, name)
            console.note(f"cancelling {name}; gemini-cli jobs fetch writes the results it has once it is cancelled")


@jobs_app.command("delete")
@options.with_groups
def delete_job(job: Job, connection: options.Values = options.CONNECTION) -> None:
    """Delete the job on the server (its results go with it) and forget its local record."""
    from gemini_cli.api import batches

    with _connected(job, connection) as (names, client, console):
        for name in names:
            try:
                batches.delete(client, name)
            except ApiError as exc:
                if exc.status != 404 or jobs.load(name) is None:
                    raise
                console.note(f"{name} is gone from the server already")
            jobs.remove(name)
            console.note(f"deleted {name}")

