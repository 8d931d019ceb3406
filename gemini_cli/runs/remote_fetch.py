"""`jobs wait` and `jobs fetch`: follow a Batch API job, then write its rows' records.

Fetching writes one record per submitted row to OUTPUT, in `batch`'s format
(runs/batch_output.py), appending. Memory stays flat with the number of rows: the job's
rows (id, line) go into a temporary on-disk SQLite table, the responses file is read line
by line as it downloads, and each record is written as soon as its line is read.

Fetching again writes nothing twice: OUTPUT is read first; a row of this job with a
completed record there is done, a failed one is dropped (the file rewritten atomically)
and written again. So an interrupted fetch (a crash, a cut download) can simply run again;
a download cut mid-way is started again at once, skipping the rows already written.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
import sqlite3
from typing import Any

from gemini_cli.api import batches
from gemini_cli.backoff import Backoff
from gemini_cli.errors import ExitCode, GeminiCliError, NetworkError, NotCompleted, UsageError
from gemini_cli.request import generate_content
from gemini_cli.request.rows import Row, id_key
from gemini_cli.request.schema import check_answer
from gemini_cli.runs.batch_output import COMPLETED, FAILED, Output, completed_record, failed_record
from gemini_cli.state import jobs

POLL_FIRST = 5.0  # seconds between polls at first, growing by POLL_FACTOR ...
POLL_MAX = 60.0  # ... up to this (a job takes minutes to hours)
POLL_FACTOR = 1.5


class NotFinished(GeminiCliError):
    """The job is still pending or running: try again later (exit 15)."""

    exit_code = ExitCode.NOT_FINISHED
    label = ""  # the normal answer of a cron fetch before the job is done, not an error


def describe(name: str, job: dict[str, Any]) -> str:
    """`batches/x: running, 40 of 100 done (2 failed)`."""
    counts = batches.counts(job)
    done = counts["succeeded"] + counts["failed"]
    text = f"{name}: {batches.state(job)}"
    if counts["total"]:
        text += f", {done} of {counts['total']} done"
        if counts["failed"]:
            text += f" ({counts['failed']} failed)"
    error = batches.metadata(job).get("error") or job.get("error")
    if isinstance(error, dict) and error.get("message"):
        text += f": {' '.join(str(error['message']).split())[:300]}"
    return text


def wait(client: Any, name: str, progress: Any, *, sleep: Any = time.sleep) -> dict[str, Any]:
    """Poll the job until it has finished (any final state); the --max-time deadline ends
    the wait with exit 7. Each poll retries transient failures (ApiClient)."""
    polls = Backoff(first=POLL_FIRST, cap=POLL_MAX, factor=POLL_FACTOR, jitter=0, fit=True, deadline=client, sleep=sleep)
    last = f"{name}: not polled yet"
    try:
        while True:
            try:
                job = batches.get(client, name)
            except NetworkError:
                if not client.expired():
                    raise
                raise GeminiCliError(f"{last}; gave up waiting at the --max-time deadline of {client.max_time:g}s",
                                     exit_code=ExitCode.NETWORK) from None
            last = describe(name, job)
            progress.update(last)
            if batches.state(job) in batches.FINISHED:
                return job
            delay = polls.next()
            if delay is None:
                raise GeminiCliError(f"{last}; gave up waiting at the --max-time deadline of "
                                     f"{client.max_time:g}s", exit_code=ExitCode.NETWORK)
            polls.sleep(delay)
    finally:
        progress.close()


def finished(client: Any, name: str) -> dict[str, Any]:
    """The job, if it has finished; NotFinished (exit 15) otherwise."""
    job = batches.get(client, name)
    if batches.state(job) not in batches.FINISHED:
        raise NotFinished(f"{describe(name, job)}; not finished yet, try again later")
    return job


# -- the rows of a job ---------------------------------------------------------------------


class Index:
    """The job's rows by key, on disk (SQLite's temporary database), and which are written."""

    def __init__(self, rows: Iterator[tuple[Any, int]]):
        self.db = sqlite3.connect("")  # "": a private temporary database on disk, removed on close
        self.db.execute("CREATE TABLE rows (key TEXT PRIMARY KEY, id TEXT, line INTEGER, seq INTEGER UNIQUE, "
                        "done INTEGER NOT NULL DEFAULT 0)")
        self.db.executemany("INSERT OR IGNORE INTO rows (key, id, line, seq) VALUES (?, ?, ?, ?)",
                            ((str(id), json.dumps(id), line, seq) for seq, (id, line) in enumerate(rows)))
        self.db.commit()

    def find(self, key: str) -> tuple[Row, bool] | None:
        found = self.db.execute("SELECT id, line, done FROM rows WHERE key = ?", (key,)).fetchone()
        return None if found is None else (Row(line=found[1], id=json.loads(found[0])), bool(found[2]))

    def key_at(self, seq: int) -> str | None:
        found = self.db.execute("SELECT key FROM rows WHERE seq = ?", (seq,)).fetchone()
        return None if found is None else found[0]

    def mark(self, key: str) -> None:
        self.db.execute("UPDATE rows SET done = 1 WHERE key = ?", (key,))

    def missing(self, limit: int = 1000) -> list[Row]:
        """Up to `limit` rows not written yet, in input order (a page: memory stays flat)."""
        found = self.db.execute("SELECT id, line FROM rows WHERE done = 0 ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [Row(line=line, id=json.loads(id)) for id, line in found]

    def close(self) -> None:
        self.db.close()


def reconcile(path: str, index: Index) -> None:
    """Mark the rows OUTPUT has completed; drop this job's failed records (and torn lines),
    rewriting OUTPUT atomically, as `batch` resumes; other lines are kept as they are."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return
    except OSError:
        return
    dropped = 0
    try:
        with open(path, "rb") as file:
            for data in file:
                if not _keep(data, index, mark=True):
                    dropped += 1
        if not dropped:
            return
        tmp = f"{path}.{os.urandom(4).hex()}.tmp"
        with open(path, "rb") as source, open(tmp, "xb") as target:
            for data in source:
                if _keep(data, index, mark=False):
                    target.write(data)
            target.flush()
            os.fchmod(target.fileno(), stat.S_IMODE(os.fstat(source.fileno()).st_mode))
            os.fsync(target.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot read and rewrite {path}: {exc.strerror or exc}") from None


def _keep(data: bytes, index: Index, *, mark: bool) -> bool:
    if not data.endswith(b"\n"):
        return False  # torn by a crash
    try:
        record = json.loads(data)
    except ValueError:
        return True  # not ours to judge
    if not isinstance(record, dict) or "id" not in record:
        return True
    key = id_key(record["id"])
    found = index.find(key)
    if found is None:
        return True
    if record.get("status") == COMPLETED:
        if mark:
            index.mark(key)
        return True
    return record.get("status") != FAILED


# -- writing the records -------------------------------------------------------------------


@dataclass
class Fetched:
    name: str
    state: str
    completed: int = 0
    failed: int = 0
    no_result: int = 0
    unreadable: int = 0
    bad: int = 0  # rows recorded as failed at submit (the first job of a submission counts them)


class Writer:
    """Writes each row's record once, from an inline or file response."""

    def __init__(self, name: str, record: dict[str, Any], index: Index, out: Output, state: str):
        self.name, self.index, self.out = name, index, out
        self.response_format = record.get("response_format")
        self.result = Fetched(name, state, bad=int(record.get("bad") or 0))

    def response(self, key: str | None, item: Any) -> None:
        """One result line: {"key"?, "response"} or {"key"?, "error"}."""
        if not isinstance(item, dict) or key is None:
            self.result.unreadable += 1
            return
        found = self.index.find(key)
        if found is None or found[1]:
            return  # not a row of this job, or written already
        row = found[0]
        if "response" in item:
            result, error = generate_content.result_of(item["response"])
            if error is None:
                error = check_answer(result.get("output_text") or "", self.response_format)
        else:
            result, error = {}, generate_content.error_of(item.get("error"))
        self.write(row, key, result, error)

    def write(self, row: Row, key: str, result: dict[str, Any], error: GeminiCliError | None) -> None:
        if error is None:
            record = completed_record(row, result)
            self.result.completed += 1
        else:
            record = failed_record(row, error, result or None)
            self.result.failed += 1
        record.pop("interaction_id", None)  # a batch answer has no interaction; thoughts are in the record already
        record["job"] = self.name
        self.out.write(record)
        self.index.mark(key)

    def finish(self) -> None:
        """Every row without a result yet gets a failed record saying why."""
        state = self.result.state
        while page := self.index.missing():
            for row in page:
                self._no_result(row, state)

    def _no_result(self, row: Row, state: str) -> None:
        if state == batches.SUCCEEDED:
            error = GeminiCliError(f"the job {self.name} has no result for this row", exit_code=ExitCode.SERVER)
        else:
            error = NotCompleted(f"the job {self.name} ended {state} before this row had a result")
        self.result.no_result += 1
        self.write(row, row.key, {}, error)


def fetch(client: Any, record: dict[str, Any], job: dict[str, Any], console: Any) -> Fetched:
    """Write the records of a finished job to its OUTPUT; mark the job fetched."""
    name = record["name"]
    state = batches.state(job)
    index = Index(jobs.rows(record))
    try:
        reconcile(record["output"], index)
        out = Output(record["output"], stdout=console.io.stdout)
        out.open()
        writer = Writer(name, record, index, out, state)
        try:
            inline = batches.inlined_responses(job)
            file = batches.responses_file(job)
            if inline is not None:
                for seq, item in enumerate(inline):
                    meta = item.get("metadata") if isinstance(item, dict) else None
                    key = meta.get("key") if isinstance(meta, dict) and meta.get("key") is not None else index.key_at(seq)
                    writer.response(None if key is None else str(key), item)
            elif file is not None:
                download(client, file, writer, console)
            writer.finish()
            index.db.commit()
        finally:
            out.close()
    finally:
        index.close()
    if writer.result.unreadable:
        console.warn(f"{name}: {writer.result.unreadable} result line(s) could not be read or matched to a row")
    jobs.mark_fetched(record, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), state)
    return writer.result


def download(client: Any, file: str, writer: Writer, console: Any) -> None:
    """Read the responses file line by line; a cut download starts again (the rows written
    are skipped), within the client's retries and deadline."""
    waits = client.retrier()
    while True:
        try:
            for data in batches.response_lines(client, file):
                try:
                    item = json.loads(data)
                except ValueError:
                    writer.result.unreadable += 1
                    continue
                key = item.get("key") if isinstance(item, dict) else None
                writer.response(None if key is None else str(key), item)
            return
        except NetworkError as exc:
            delay = waits.next()
            if delay is None:
                raise
            console.note(f"{exc.message}; downloading {file} again in {delay:.1f}s (the rows written are kept)")
            waits.sleep(delay)


def outcome(results: list[Fetched], where: str) -> GeminiCliError | None:
    """The error to exit with: 9 when a job failed, expired or was cancelled, 11 when rows
    failed, None when every row completed."""
    ended = [r for r in results if r.state != batches.SUCCEEDED]
    completed = sum(r.completed for r in results)
    failed = sum(r.failed + r.bad for r in results)
    if ended:
        states = ", ".join(f"{r.name} {r.state}" for r in ended)
        return NotCompleted(f"{states}: {completed} rows completed, {failed} failed (written to {where})")
    if failed:
        return GeminiCliError(f"{failed} of {completed + failed} rows failed (each failure is recorded in {where})",
                              exit_code=ExitCode.BATCH_ROWS_FAILED)
    return None


def fetch_all(client: Any, records: list[dict[str, Any]], console: Any, *, wait_first: bool = False,
              progress: Any = None) -> GeminiCliError | None:
    """Fetch each job (waiting for it first with `wait_first`); a job not finished yet is
    left for later (exit 15, after the others are written). Returns the error to exit with."""
    results, waiting = [], []
    for record in records:
        name = record["name"]
        if wait_first:
            job = wait(client, name, progress)
        else:
            try:
                job = finished(client, name)
            except NotFinished as exc:
                waiting.append(exc.message)
                continue
        result = fetch(client, record, job, console)
        console.note(f"{name} ({result.state}): {result.completed} completed, {result.failed} failed, "
                     f"written to {record['output']}")
        results.append(result)
    if waiting:
        return NotFinished("; ".join(waiting))
    return outcome(results, records[0]["output"] if records else "OUTPUT")
