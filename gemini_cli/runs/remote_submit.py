"""`batch --remote`: the rows of INPUT as Batch API jobs, one per model.

The rows are read and built exactly as `batch` builds them (runs/batch.py's RowRequests),
then translated to GenerateContentRequests (request/generate_content.py). Each model's
requests are streamed to a temporary JSON Lines file as they are built, so memory holds one
row at a time; a job of at most INLINE_ROWS rows whose whole body fits in INLINE_LIMIT is sent
inline (read back from that file), a larger one uploads the file with the Files API's
resumable upload first.

Nothing is sent (no job created) until every row is read and translated: a row the Batch
API cannot take stops the submission with exit 2. Bad rows (not JSON, a missing attachment)
are recorded as failed in OUTPUT, as `batch` records them; rows already completed there
are skipped. A job's record (state/jobs.py) is saved before its name is printed.
"""

from __future__ import annotations

import calendar
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from gemini_cli.api import batches, files
from gemini_cli.api.batches import model_path
from gemini_cli.errors import ExitCode, GeminiCliError, NetworkError, UsageError
from gemini_cli.request import generate_content, remote_mcp
from gemini_cli.request.body import create_body, generation_config, response_format
from gemini_cli.request.body import tools as declared_tools  # aliased: check_settings() has a local `tools`
from gemini_cli.request.schema import json_format
from gemini_cli.runs.batch_output import failed_record
from gemini_cli.runs.connection import remote_mcp_named
from gemini_cli.runs.pipeline import show_dry_run
from gemini_cli.state import jobs

INLINE_LIMIT = 20 * 1024 * 1024  # the whole create body, per §13 (tests lower it)
# An inline job's results come back inside the job resource, one JSON body (MAX_JOB_BODY): a
# job of more rows goes as an input file, whose results are a file, streamed.
INLINE_ROWS = 500
CLOCK_SLACK = 300  # seconds: how far the server's clock may be behind ours when a lost create is looked for
JSONL = "application/jsonl"


@dataclass
class Group:
    """One model's requests: one job."""

    model: str
    file: BinaryIO = field(default_factory=lambda: tempfile.TemporaryFile(prefix="gemini-cli-batch-"))
    rows: Any = None  # state.jobs.RowsWriter
    count: int = 0
    inline_size: int = 0  # bytes of the inline requests, separators included
    file_size: int = 0
    first: dict[str, Any] | None = None  # the first inline request, for --dry-run

    def add(self, key: str, request: dict[str, Any]) -> None:
        item = {"request": request, "metadata": {"key": key}}
        if self.first is None:
            self.first = item
        self.inline_size += len(_json(item)) + (2 if self.count else 0)  # ", " between items
        line = _json({"key": key, "request": request}) + b"\n"
        self.file.write(line)
        self.file_size += len(line)
        self.count += 1

    def inline_body(self, display_name: str) -> int:
        return len(_json({"batch": _envelope(display_name, [])})) + self.inline_size

    def inline(self, display_name: str) -> bool:
        return self.count <= INLINE_ROWS and self.inline_body(display_name) <= INLINE_LIMIT


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")  # as ApiClient.send encodes a body


def _envelope(display_name: str, requests: list[Any]) -> dict[str, Any]:
    return {"displayName": display_name, "inputConfig": {"requests": {"requests": requests}}}


def check_settings(settings: Any, requests: Any) -> None:
    """Exit 2 for flags (or config) a batch job cannot honour, before any row is read."""
    if "service_tier" in settings.explicit and settings.service_tier:
        raise UsageError(f"--service-tier {settings.service_tier}: a batch job has its own price and "
                         "queue (50 %, within 24 h); give --service-tier or --remote, not both")
    tools = declared_tools(requests.settings)
    if remote_mcp_named(requests.settings):  # refused below, as the rows would be
        tools += remote_mcp.tools(remote_mcp.servers(requests.settings))
    probe = create_body(
        model=settings.model, agent=settings.agent, input="probe", system_instruction=settings.system,
        generation_config=generation_config(settings), tools=tools,
        response_format=response_format(requests.settings), store=settings.store,
    )
    generate_content.translate(probe)


def check_not_pending(output: str) -> None:
    pending = jobs.pending_for(output)
    if pending:
        names = ", ".join(record["name"] for record in pending)
        raise UsageError(f"{output} already has a batch job not fetched yet: {names}; run gemini-cli jobs fetch "
                         f"{output} once it has finished (or jobs cancel / jobs delete it) before submitting again")


@dataclass
class Submission:
    groups: dict[str, Group] = field(default_factory=dict)
    bad: list[dict[str, Any]] = field(default_factory=list)  # failed records of bad rows
    skipped: int = 0

    @property
    def count(self) -> int:
        return sum(group.count for group in self.groups.values())


def read(rows: Any, requests: Any, out: Any, client: Any, *, keep_rows: bool, warn: Any) -> Submission:
    """Build and translate every row; bad rows become failed records. A row the Batch API
    cannot take raises UsageError naming it."""
    found = Submission()
    seen: dict[str, int] = {}  # id -> line: answers come back by id, so ids must be unique
    try:
        for row in rows:
            if row.error is None and row.key in out.done:
                found.skipped += 1
                continue
            if row.error is None and row.key in seen:  # not recorded: OUTPUT holds one record per id
                warn(f"line {row.line}: skipped: the id {row.id!r} is the id of line {seen[row.key]} too, and a batch "
                     "job matches answers to rows by id")
                continue
            if row.error is not None:
                found.bad.append(failed_record(row, row.error))
                continue
            try:
                settings, sent, _ = requests.prepare(row, client)
                body = sent.body
            except UsageError as exc:
                found.bad.append(failed_record(row, exc))
                continue
            try:
                translated = generate_content.translate(body)
            except UsageError as exc:
                raise UsageError(f"line {row.line} (id {row.id}): {exc.message}; nothing was submitted") from None
            seen[row.key] = row.line
            group = found.groups.get(settings.model)
            if group is None:
                group = found.groups[settings.model] = Group(settings.model, rows=jobs.RowsWriter() if keep_rows else None)
            group.add(row.key, translated)
            if group.rows is not None:
                group.rows.add(row.id, row.line)
    except BaseException:
        discard(found)
        raise
    return found


def discard(found: Submission) -> None:
    for group in found.groups.values():
        group.file.close()
        if group.rows is not None:
            group.rows.discard()


def dry_run(client: Any, found: Submission, out: Any, stdout: Any) -> None:
    """The first translated request as it would be sent, then what would be submitted."""
    shown = False
    lines = []
    for model, group in found.groups.items():
        name = display_name(out.path, model, len(found.groups))
        if not shown and group.first is not None:
            show_dry_run(client, {"batch": _envelope(name, [group.first])}, stdout,
                         path=f"{model_path(model)}:batchGenerateContent")
            shown = True
        size = group.inline_body(name)
        why = f"inline would be {size} bytes" if size > INLINE_LIMIT else f"more than {INLINE_ROWS} rows"
        how = (f"inline, {size} bytes" if group.inline(name) else
               f"as an input file ({JSONL}, {group.file_size} bytes, uploaded first; {why})")
        lines.append(f"{group.count} row{'' if group.count == 1 else 's'} to submit to {model}: {how}")
    if not lines:
        lines.append("nothing to submit")
    if found.skipped:
        lines.append(f"{found.skipped} already completed in {out.path}")
    if found.bad:
        lines.append(f"{len(found.bad)} bad (recorded as failed when submitted)")
    stdout.write("\n" + "\n".join(lines) + "\n")
    discard(found)


def record_bad(found: Submission, out: Any) -> None:
    """Open OUTPUT (--restart truncates it now) and record the bad rows: no job will answer them."""
    out.scan()  # drop the failed records of earlier runs: those rows are submitted again (or bad again)
    out.open()
    try:
        for record in found.bad:
            out.write(record)
    finally:
        out.close()


def display_name(output: str | None, model: str, groups: int) -> str:
    name = f"gemini-cli {Path(output or 'batch').name}" + (f" {model}" if groups > 1 else "")
    return name[:128]


def submit(client: Any, requests: Any, found: Submission, out: Any, console: Any, *, input: str | None) -> list[str]:
    """Create one job per model; save each job's record; print each name. Returns the names."""
    record_bad(found, out)
    if found.bad:
        console.note(f"{len(found.bad)} bad row{'' if len(found.bad) == 1 else 's'} recorded as failed in {out.path}")
    names: list[str] = []
    submission = os.urandom(6).hex()
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        for model, group in found.groups.items():
            name = display_name(out.path, model, len(found.groups))
            input_file = None
            if group.inline(name):
                group.file.seek(0)
                items = [{"request": item["request"], "metadata": {"key": item["key"]}}
                         for item in map(json.loads, group.file)]
                batch = _envelope(name, items)
                del items
            else:
                input_file = upload_requests(client, group, name, console)
                batch = {"displayName": name, "inputConfig": {"fileName": input_file}}
            job = create(client, model, batch, name, created, console)
            del batch
            job_name = batches.job_name(job["name"])
            group.rows.commit(job_name)
            group.rows = None
            jobs.save({
                "name": job_name, "model": model, "display_name": name, "output": jobs.output_key(out.path),
                "input": os.path.abspath(input) if input not in (None, "-") else "-", "input_file": input_file,
                "rows": group.count, "created": created, "submission": submission,
                "response_format": json_format(response_format(requests.settings)), "fetched": None,
                "bad": 0 if names else len(found.bad),  # bad rows recorded at submit: counted by the first job's fetch
            })
            names.append(job_name)
            console.io.stdout.write(f"{job_name}\n")
            console.io.stdout.flush()
            how = f"input file {input_file}" if input_file else "inline"
            console.note(f"submitted {group.count} row{'' if group.count == 1 else 's'} to {model} as {job_name} "
                         f"({how})")
    finally:
        discard(found)
    return names


def create(client: Any, model: str, batch: dict[str, Any], name: str, created: str, console: Any) -> dict[str, Any]:
    """The job created for `batch`. When the connection broke after the create request went
    out, the server may have made the job: it is looked for in the job list (this display name
    and model, created since the submission began, not one of ours already) rather than made
    twice; not found, nothing is recorded and the run stops (exit 7)."""
    try:
        return batches.create(client, model, batch)
    except NetworkError as exc:
        if not exc.delivered:
            raise
        try:
            job = find_created(client, model, name, created)
        except GeminiCliError as listing:
            raise NetworkError(f"{exc.message}; the job list, to see whether it made the job, could not be read "
                               f"either ({listing.message}), so nothing was recorded: check `gemini-cli jobs list` "
                               "before submitting again") from None
        if job is None:
            raise NetworkError(f"{exc.message}; no job named {name!r} made since is listed, so nothing was "
                               "recorded: check `gemini-cli jobs list`, then run the same command again") from None
        console.note(f"{exc.message}; it had created {job['name']}: going on with that job")
        return job


def find_created(client: Any, model: str, name: str, created: str, pages: int = 5) -> dict[str, Any] | None:
    """The first job of the list (its first `pages` pages) that this submission may have made."""
    known = {record.get("name") for record in jobs.every()}
    # the server's clock may be behind ours: a few minutes' slack (the name narrows it anyway)
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ"))
                                                           - CLOCK_SLACK))
    for count, job in enumerate(batches.iter_jobs(client)):
        if count >= pages * batches.PAGE_SIZE:
            return None
        meta = batches.metadata(job)
        if (meta.get("displayName") == name and str(meta.get("createTime") or "")[:19] >= since
                and batches.model_path(str(meta.get("model") or "")) == batches.model_path(model)
                and job.get("name") not in known and _is_job_name(job.get("name"))):
            return job
    return None


def _is_job_name(name: Any) -> bool:
    try:
        return isinstance(name, str) and batches.job_name(name) == name
    except UsageError:
        return False


def upload_requests(client: Any, group: Group, name: str, console: Any) -> str:
    """The requests file through the resumable upload (never read whole); its `files/…` name."""
    console.note(f"uploading the requests for {group.model} ({group.file_size} bytes) as an input file")
    group.file.seek(0)
    file = files.upload(client, group.file, size=group.file_size, mime=JSONL, display_name=f"{name} requests")
    file_name = file.get("name")
    if not isinstance(file_name, str) or not file_name:
        raise GeminiCliError("the Files API returned no name for the uploaded input file", exit_code=ExitCode.SERVER)
    return file_name
