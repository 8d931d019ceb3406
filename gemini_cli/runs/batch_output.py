"""`batch` output: one JSON object per row, each line written whole, and resuming from it.

Each record is one os.write of the whole line (looped on a short write) from one thread,
so a reader, a crash or Ctrl-C never sees half a record from us; a torn last line (power
loss) is dropped when the file is resumed. Resuming keeps the completed records and drops
failed ones (their rows run again), rewriting the file atomically only when something is
dropped; memory holds the completed ids, nothing else.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
from typing import Any, Callable

from gemini_cli.errors import ExitCode, GeminiCliError, UsageError
from gemini_cli.render.output import redact
from gemini_cli.render.terminal import for_stream
from gemini_cli.render.transcript import thought_text
from gemini_cli.state.locks import lock
from gemini_cli.request.rows import id_key

COMPLETED = "completed"
FAILED = "failed"


def completed_record(row: Any, result: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    record = {"id": row.id, "line": row.line, "status": COMPLETED, "output_text": result.get("output_text") or "",
              "interaction_id": result.get("id"), "usage": result.get("usage")}
    _add_thoughts(record, result)
    if result.get("function_calls"):  # the calls the row's turn ran (runs/tool_setup.RowLoop)
        record["function_calls"] = result["function_calls"]
    record.update(extra or {})
    return record


def thoughts_of(result: dict[str, Any]) -> str:
    """The thought summaries of an answer (--thoughts), as one string: a generateContent
    result (remote jobs) has them joined already; an interaction has them in its thought steps."""
    if isinstance(result.get("thoughts"), str):
        return result["thoughts"]

    steps = result["steps"] if isinstance(result.get("steps"), list) else []
    texts = [thought_text(step) for step in steps if isinstance(step, dict) and step.get("type") == "thought"]
    return "\n\n".join(text for text in texts if text)


def _add_thoughts(record: dict[str, Any], result: dict[str, Any]) -> None:
    """A `thoughts` field, only when the answer has summaries (the same key as `jobs fetch`)."""
    thoughts = thoughts_of(result)
    if thoughts:
        record["thoughts"] = thoughts


def failed_record(row: Any, error: BaseException | str, result: dict[str, Any] | None = None,
                  secrets: Any = ()) -> dict[str, Any]:
    """A failed row: the error's code (the exit code's name), message and exit code, plus what
    the API answered, if it answered (an incomplete interaction, a schema mismatch).
    `secrets`: the I/O context's, redacted with the environment's keys."""
    if isinstance(error, GeminiCliError):
        message, exit_code = redact(error.message, secrets), ExitCode(error.exit_code)  # an API message may echo the key
    else:
        message, exit_code = redact(str(error), secrets), ExitCode.USAGE
    record: dict[str, Any] = {"id": row.id, "line": row.line, "status": FAILED}
    if result is not None:
        record.update(output_text=result.get("output_text") or "", interaction_id=result.get("id"), usage=result.get("usage"))
        _add_thoughts(record, result)
        if result.get("function_calls"):
            record["function_calls"] = result["function_calls"]
    error_doc: dict[str, Any] = {"code": exit_code.name.lower(), "message": message, "exit_code": int(exit_code)}
    status = getattr(error, "status", None)
    if status is not None:
        error_doc["http_status"] = status
    record["error"] = error_doc
    return record


def line_of(record: dict[str, Any]) -> bytes:
    text = json.dumps(record, ensure_ascii=False) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate that got past the row checks: never a batch-ending crash
        return re.sub("[\ud800-\udfff]", "\ufffd", text).encode("utf-8")


class Output:
    """Where records go: OUTPUT (appended to, after resuming) or stdout."""

    def __init__(self, path: str | None, *, stdout: Any, restart: bool = False):
        self.path = None if path in (None, "-") else path
        self.stdout = stdout  # the I/O context's: where records go without a path
        self.restart = restart
        self.done: set[str] = set()  # ids with a completed record already in OUTPUT
        self.fd: int | None = None

    def lock(self, timeout: float, on_wait: Callable[[], None]) -> Any:
        """OUTPUT held for the whole batch (state/locks.py, as a conversation is); stdout is not locked."""
        return contextlib.nullcontext() if self.path is None else lock(self.path, timeout, on_wait, what="OUTPUT")

    def resumable(self) -> bool:
        if self.path is None or self.restart:
            return False
        try:
            mode = os.lstat(self.path).st_mode
        except OSError:
            return False
        if stat.S_ISLNK(mode):  # never read, rewritten or appended through a link planted at the name
            raise UsageError(f"OUTPUT {self.path} is a symbolic link; refusing to follow it (name the file itself)")
        return stat.S_ISREG(mode)

    def scan(self, rewrite: bool = True) -> None:
        """Read the completed ids of an existing OUTPUT; with `rewrite`, drop its other lines."""
        if not self.resumable():
            return
        assert self.path is not None  # resumable() says there is one
        dropped = 0
        try:
            with open(self.path, "rb") as file:
                for data in _records(file):
                    key = _completed_key(data)
                    if key is None:
                        dropped += 1
                    else:
                        self.done.add(key)
        except OSError as exc:
            raise UsageError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        if dropped and rewrite:
            self._keep_completed()

    def _keep_completed(self) -> None:
        """Rewrite OUTPUT with its completed records only (temp file, then rename)."""
        assert self.path is not None  # called by scan() only
        tmp = f"{self.path}.{os.urandom(4).hex()}.tmp"
        try:
            with open(self.path, "rb") as source, open(tmp, "xb") as target:
                for data in _records(source):
                    if _completed_key(data) is not None:
                        target.write(data)
                target.flush()
                os.fchmod(target.fileno(), stat.S_IMODE(os.fstat(source.fileno()).st_mode))
                os.fsync(target.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise UsageError(f"cannot rewrite {self.path}: {exc.strerror or exc}") from None

    def open(self) -> None:
        if self.path is None:
            self.stdout.flush()
            try:
                self.fd = self.stdout.fileno()
            except (OSError, ValueError, AttributeError):
                self.fd = None  # a stream without a descriptor (a test runner's): written through
            return
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | (os.O_TRUNC if self.restart else 0)
        try:
            self.fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UsageError(f"OUTPUT {self.path} is a symbolic link; refusing to follow it (name the file itself)") from None
            raise UsageError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def write(self, record: dict[str, Any]) -> None:
        data = line_of(record)
        if self.fd is None:
            self.stdout.write(for_stream(data.decode("utf-8"), self.stdout))  # a terminal shows, never obeys
            self.stdout.flush()
            return
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except BrokenPipeError:
            raise
        except OSError as exc:
            where = self.path or "stdout"
            raise GeminiCliError(f"cannot write {where}: {exc.strerror or exc}", exit_code=ExitCode.USAGE) from None

    def close(self) -> None:
        if self.fd is not None and self.path is not None:
            os.close(self.fd)
        self.fd = None


MAX_RECORD = 64 * 1024 * 1024  # a longer line (torn, or not ours) is read past in blocks, never whole


def _records(file: Any) -> Any:
    """OUTPUT's lines, one at a time; a line over MAX_RECORD comes back as b"" (dropped)."""
    while data := file.readline(MAX_RECORD + 1):
        if len(data) > MAX_RECORD and not data.endswith(b"\n"):
            while data and not data.endswith(b"\n"):
                data = file.readline(1024 * 1024)
            yield b""
            continue
        yield data


def _completed_key(data: bytes) -> str | None:
    """The id of a whole, completed record line; None for anything else."""
    if not data.endswith(b"\n"):
        return None  # torn by a crash
    try:
        record = json.loads(data)
    except ValueError:
        return None
    if isinstance(record, dict) and record.get("status") == COMPLETED and "id" in record:
        return id_key(record["id"])
    return None


class Ordered:
    """--ordered: records go out in input order; one that finished early waits for those
    before it. `pending()` is how many are held (the batch bounds it)."""

    def __init__(self, write: Callable[[dict[str, Any]], None]):
        self.write = write
        self.next = 0  # the sequence number to write next
        self.held: dict[int, dict[str, Any] | None] = {}

    def put(self, seq: int, record: dict[str, Any] | None) -> None:
        """The record of row `seq`; None for a row with nothing to write (skipped)."""
        self.held[seq] = record
        while self.next in self.held:
            record = self.held.pop(self.next)
            self.next += 1
            if record is not None:
                self.write(record)

    def drain(self) -> None:
        """Stopping: write what finished, in order, gaps and all (a rerun does the gaps)."""
        for seq in sorted(self.held):
            record = self.held.pop(seq)
            if record is not None:
                self.write(record)
