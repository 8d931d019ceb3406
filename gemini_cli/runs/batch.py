"""`batch`: many rows, one request each, up to -j in flight, adaptive on 429, resumable.

One thread (the caller's) schedules: it reads rows as slots free up, hands them to a
pool of worker threads, takes their outcomes back, decides on retries and writes every
record; so the output has one writer and the rows in memory are those in flight (plus,
with --ordered, those finished early, at most ORDER_WINDOW × -j).

Each row is a single non-streamed create (`stream: false`): a row's answer is needed
whole anyway, and a JSON answer is one read, with nothing to resume. A worker makes one
attempt; a transient failure (408, 5xx, network) comes back here and the row waits its
backoff outside the pool, so waiting holds no slot. A 429 also lowers the concurrency
(limiter.py) and the row waits what the server asked (RetryInfo, Retry-After) before it
is sent again; only once the concurrency is down to 1 does that wait pause all sending, and
only then does a 429 count against the row's --retries. A daily quota,
a wait longer than MAX_SERVER_WAIT, an authentication error, or UNREACHABLE rows in a row
failing on network errors stop the batch: nothing else could succeed.
"""

from __future__ import annotations

import heapq
import queue
import signal
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Iterator

from gemini_cli.api.client import RETRY_STATUSES
from gemini_cli.errors import ApiError, ExitCode, GeminiCliError, NetworkError, UsageError
from gemini_cli.request.body import check_settings
from gemini_cli.runs import pipeline
from gemini_cli.runs.batch_output import Ordered, Output, completed_record, failed_record
from gemini_cli.runs.limiter import Limiter
from gemini_cli.runs.session import Session, new_path_for
from gemini_cli.state.config import model_id
# runs/media.py is imported inside prepare: only rows with attachments need it (it loads the Files
# API, ~6 ms).

GRACE = 5.0  # seconds Ctrl-C waits for the answers in flight
MAX_SERVER_WAIT = 300.0  # a 429 asking for a longer wait stops the batch: retrying is pointless
ORDER_WINDOW = 4  # --ordered: rows finished early that may wait for a slow one, × -j
UNREACHABLE = 10  # rows failing in a row on network errors (at least 2 × -j) that stop the batch
TICK = 0.1  # the scheduler wakes at least this often (signals, pauses, retries due)


@dataclass
class Job:
    seq: int  # position among the rows read, for --ordered
    row: Any  # request.rows.Row
    attempts: int = 0  # failed attempts counted against --retries
    throttles: int = 0
    epoch: int = 0  # the limiter's epoch when sent
    sent_with: int = 0  # requests in flight when sent, itself included
    prepared: Any = None  # (row settings, pipeline.Request, session), built at the first attempt

    def __lt__(self, other: "Job") -> bool:
        return self.seq < other.seq


class _Quiet:
    """A row's renderer: batch prints nothing per row."""

    def event(self, raw, event) -> None: ...
    def interaction(self, hop) -> None: ...
    def flush(self) -> None: ...
    def finish(self, result) -> None: ...


class RowRequests:
    """Turns a row into its request (the flags of the command as defaults) and sends it."""

    def __init__(self, settings: Any, console: Any, *, attach: list[str], mime: str | None,
                 params: list[tuple[str, str]], save: bool, tools: Any = None):
        settings = check_settings(settings, console.warn)  # once for the batch: a bad --schema exits 2 before anything is sent
        self.settings, self.console, self.attach, self.mime = settings, console, attach, mime
        self.params, self.save = params, save
        self.tools = tools  # runs.tool_setup.ToolSet (None: no function tools); each row gets its own loop

    def settings_for(self, row: Any) -> Any:
        changes = dict(row.settings)
        if row.model:
            changes["model"] = model_id(self.settings, row.model)
        template = self.settings.template
        if row.system is not None:
            changes["system"] = row.system
        elif template is not None and template.system is not None and \
                str(self.settings.sources.get("system", "")).startswith("template"):
            # for every row: its columns may fill the placeholders; a row missing one fails alone
            changes["system"] = template.render(template.system, template.values(self.params + row.params))
        return replace(self.settings, **changes) if changes else self.settings

    def prompt_for(self, row: Any) -> str:
        template = self.settings.template
        if template is not None:
            return template.render_prompt(self.params + row.params, row.prompt)
        if not row.prompt:
            raise UsageError(f"line {row.line}: no prompt")
        return row.prompt

    def prepare(self, row: Any, client: Any) -> tuple[Any, Any, Any]:
        """(settings, pipeline.Request, session) for a row; UsageError for a bad one. Without
        a client (--dry-run) attachments are not uploaded."""
        settings = self.settings_for(row)
        input: Any = self.prompt_for(row)
        attachments = self.attach + row.attach
        if attachments:
            from gemini_cli.runs.media import build_turn_input

            input = build_turn_input(input, attachments, self.mime, client=client, console=self.console)
        session = Session(path=None, conversation=None, save=self.save, warn=self.console.warn,
                          secrets=self.console.io.secrets)
        tools = self.tools.loop if self.tools is not None else pipeline.NO_TOOLS
        return settings, pipeline.prepare(settings, session, input, tools, stream=False), session

    def attempt(self, job: Job, client: Any) -> tuple[dict[str, Any], GeminiCliError | None]:
        """One try at a row (in a worker thread): the result, and the error it amounts to. Its
        record is saved (--save) by the scheduler, the output's one writer."""
        if job.prepared is None:
            job.prepared = self.prepare(job.row, client)
        settings, sent, _ = job.prepared
        renderer = _Quiet()
        # A row's own loop (its call count and refusals are its own), over the batch's runners.
        tools = self.tools.for_row(job.row.id) if self.tools is not None else pipeline.NO_TOOLS
        hops = pipeline.exchange(client, sent.body, sent.steps, None, renderer, self.console, tools)
        if hops.outcome.error is not None:
            raise hops.outcome.error  # a row keeps no partial answer: it is retried or recorded as failed
        result = hops.outcome.result
        calls = getattr(tools, "made", None)
        if calls:
            result = {**result, "function_calls": calls}
        return result, pipeline.checks(settings, sent.body, result, hops.last, renderer, tools)


class Pool:
    """Daemon worker threads: a row stuck in a request never holds up the exit."""

    def __init__(self, size: int, work: Any):
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.work = work
        for _ in range(size):
            threading.Thread(target=self._serve, daemon=True, name="gemini-cli-batch").start()

    def _serve(self) -> None:
        while True:
            job = self.tasks.get()
            try:
                outcome: Any = self.work(job)
            except BaseException as exc:  # noqa: BLE001 - handed to the scheduler to decide
                outcome = exc
            self.results.put((job, outcome))

    def submit(self, job: Job) -> None:
        self.tasks.put(job)


class Batch:
    def __init__(self, rows: Iterator[Any], requests: RowRequests, client: Any, output: Output, progress: Any, *,
                 jobs: int, ordered: bool = False, retries: int = 4):
        self.rows, self.requests, self.client, self.output = rows, requests, client, output
        self.progress, self.retries = progress, retries
        self.secrets = requests.console.io.secrets  # redacted from failed rows' messages
        self.limiter = Limiter(jobs)
        self.pool = Pool(jobs, lambda job: requests.attempt(job, client))
        self.ordered = Ordered(output.write) if ordered else None
        self.window = ORDER_WINDOW * jobs
        self.waiting: list[tuple[float, Job]] = []  # rows to retry: (when, job)
        self.seq = 0
        self.in_flight = 0
        self.exhausted = False
        self.completed = self.failed = self.skipped = 0
        self.stop: BaseException | None = None  # why sending stopped: a signal or a fatal error
        self.abort = False  # a second Ctrl-C: stop waiting for answers in flight
        self.unreachable = 0  # rows failed in a row by network errors, retries spent

    # -- the loop --------------------------------------------------------------

    def run(self) -> None:
        """Run every row; returns normally, or raises why it stopped (after writing what finished)."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._loop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self.ordered is not None:
                self.ordered.drain()
            self.progress.update(self, force=True)
            self.progress.close()

    def _loop(self) -> None:
        deadline = None
        while True:
            if self.stop is None:
                self._fill()
            elif deadline is None:
                deadline = time.monotonic() + GRACE
                if self.in_flight and isinstance(self.stop, Interrupted):
                    self.progress.note(f"stopping: waiting up to {GRACE:g}s for {self.in_flight} answers in flight "
                                       "(Ctrl-C again to stop now)")
            if self.in_flight == 0 and (self.stop is not None or (self.exhausted and not self.waiting)):
                return
            if self.abort or (deadline is not None and time.monotonic() >= deadline):
                return
            try:
                job, outcome = self.pool.results.get(timeout=self._sleep())
            except queue.Empty:
                self.progress.update(self)
                continue
            self.in_flight -= 1
            self._handle(job, outcome)
            self.progress.update(self)

    def _sleep(self) -> float:
        wait = TICK
        if self.stop is None and self.waiting:
            wait = min(wait, max(self.waiting[0][0] - time.monotonic(), 0.0))
        return max(wait, 0.001)

    def _fill(self) -> None:
        """Send rows while there are free slots and no pause: retries that are due first."""
        while self.in_flight < self.limiter.slots and self.limiter.pause_left() <= 0:
            if self.waiting and self.waiting[0][0] <= time.monotonic():
                job = heapq.heappop(self.waiting)[1]
            else:
                row_job = self._next_row()
                if row_job is None:
                    return
                job = row_job
                if job.row.error is not None:
                    self._record(job, failed_record(job.row, job.row.error, secrets=self.secrets), failed=True)
                    continue
                if job.row.key in self.output.done:
                    self.skipped += 1
                    self._emit(job, None)
                    continue
            job.epoch = self.limiter.epoch
            self.in_flight += 1
            job.sent_with = self.in_flight
            self.pool.submit(job)

    def _next_row(self) -> Job | None:
        if self.exhausted or (self.ordered is not None and self.seq - self.ordered.next >= self.window):
            return None
        row = next(self.rows, None)
        if row is None:
            self.exhausted = True
            return None
        self.seq += 1
        return Job(self.seq - 1, row)

    # -- outcomes --------------------------------------------------------------

    def _handle(self, job: Job, outcome: Any) -> None:
        if isinstance(outcome, tuple):
            self.limiter.answered(job.sent_with)
            result, error = outcome
            if error is not None:
                self._record(job, failed_record(job.row, error, result, self.secrets), failed=True)
            else:
                self._record(job, completed_record(job.row, result, self._save(job, result)))
            self.unreachable = 0
            return
        if isinstance(outcome, ApiError) and outcome.status == 429:
            return self._throttled(job, outcome)
        if self.stop is not None and (not isinstance(self.stop, Interrupted) or _transient(outcome)):
            return  # stopping, and this row could still succeed: it runs again next time
        if isinstance(outcome, GeminiCliError) and outcome.exit_code in (ExitCode.AUTH, ExitCode.REPLAY_MISMATCH):
            return self._fatal(outcome)  # no key, or a cassette that cannot answer: no row can succeed
        if isinstance(outcome, ApiError):
            self.limiter.answered()
        if _transient(outcome) and job.attempts < self.retries and self.stop is None:
            return self._retry(job, self.client.backoff(job.attempts), outcome)
        if not isinstance(outcome, GeminiCliError):
            outcome = GeminiCliError(f"internal error: {type(outcome).__name__}: {outcome}")
        self._record(job, failed_record(job.row, outcome, secrets=self.secrets), failed=True)
        self.unreachable = self.unreachable + 1 if isinstance(outcome, NetworkError) else 0
        if self.unreachable >= max(2 * self.limiter.maximum, UNREACHABLE):
            self._fatal(GeminiCliError(f"{self.unreachable} rows in a row could not reach the API, retries included: "
                                       f"{outcome.message}", exit_code=ExitCode.NETWORK))

    def _throttled(self, job: Job, error: ApiError) -> None:
        wait = error.server_wait
        if error.daily_quota:
            return self._fatal(GeminiCliError(f"{error.message} [daily quota]", exit_code=ExitCode.RATE_LIMITED))
        if wait is not None and wait > MAX_SERVER_WAIT:
            return self._fatal(GeminiCliError(
                f"{error.message} [the server asks to wait {wait:.0f}s]", exit_code=ExitCode.RATE_LIMITED))
        at_floor = self.limiter.slots <= 1
        if self.limiter.throttled(job.epoch, wait):
            self.progress.note(f"rate limited (HTTP 429): {self.limiter.slots} requests in flight now"
                               + (f", pausing {wait:.1f}s as the server asks" if wait and self.limiter.pausing else ""))
        if self.stop is not None:
            return
        job.throttles += 1
        if at_floor:
            if job.attempts >= self.retries:
                return self._record(job, failed_record(job.row, error, secrets=self.secrets), failed=True)
            job.attempts += 1
        self._retry(job, wait if wait is not None else self.client.backoff(min(job.throttles - 1, 4)))

    def _retry(self, job: Job, delay: float, error: Any = None) -> None:
        if error is not None:
            job.attempts += 1
            message = getattr(error, "message", str(error))
            self.progress.note(f"row {job.row.id}: {message}; retrying in {delay:.1f}s "
                               f"(attempt {job.attempts + 1} of {self.retries + 1})")
        heapq.heappush(self.waiting, (time.monotonic() + delay, job))

    def _fatal(self, error: GeminiCliError) -> None:
        if self.stop is None or isinstance(self.stop, Interrupted):
            self.stop = error

    def _save(self, job: Job, result: dict[str, Any]) -> dict[str, Any] | None:
        """--save: the row as a conversation of its own; returns the record's `conversation`."""
        _, sent, session = job.prepared
        if not session.save:
            return None

        try:
            new_path_for(session)
            session.record(sent.steps, result, warn=lambda message: self.progress.note(f"row {job.row.id}: {message}"))
        except GeminiCliError as exc:
            self.progress.note(f"row {job.row.id}: the conversation was not saved: {exc.message}")
            return None
        return {"conversation": {"id": session.conversation.id, "path": str(session.path)}}

    def _record(self, job: Job, record: dict[str, Any], failed: bool = False) -> None:
        if failed:
            self.failed += 1
        else:
            self.completed += 1
        self._emit(job, record)

    def _emit(self, job: Job, record: dict[str, Any] | None) -> None:
        if self.ordered is not None:
            self.ordered.put(job.seq, record)
        elif record is not None:
            self.output.write(record)

    def _on_signal(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        if isinstance(self.stop, Interrupted):
            self.abort = True
        else:
            self.stop = Interrupted(signum)


class Interrupted(BaseException):
    """Ctrl-C (SIGINT) or SIGTERM stopped the batch."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _transient(error: BaseException) -> bool:
    """Worth another try, as generate's client retries: 408, 5xx, network errors; never
    after the server answered 2xx (a cut or unreadable body): the row may be billed."""
    if getattr(error, "answered", False):
        return False
    if isinstance(error, ApiError):
        return error.status in RETRY_STATUSES
    return isinstance(error, NetworkError)
