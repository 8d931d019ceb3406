"""Exit codes (design.md §3) and the error classes that carry them.

Every module raises a GeminiCliError subclass; app.py is the one place that turns
it into a message on stderr and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    AUTH = 3
    REJECTED = 4
    RATE_LIMITED = 5
    SERVER = 6
    NETWORK = 7
    STREAM_INTERRUPTED = 8
    NOT_COMPLETED = 9
    SCHEMA = 10
    BATCH_ROWS_FAILED = 11
    REPLAY_MISMATCH = 12
    TOOL_LIMIT = 13
    TOOL_REFUSED = 14
    NOT_FINISHED = 15  # jobs fetch: the Batch API job has not finished yet (try again later)
    SIGINT = 130
    SIGTERM = 143


class GeminiCliError(Exception):
    """An error with a message for the user and an exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL
    # The server had answered 2xx when this went wrong (a cut or unreadable body): the
    # request may have been billed, so it is never sent again (client.py, runs/batch.py).
    answered: bool = False
    # The word after "gemini-cli:" on stderr; a state that is no failure (exit 15) has none.
    label: str = "error"

    def __init__(self, message: str, *, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


def after_answer(error: GeminiCliError) -> GeminiCliError:
    """Mark an error that came after a 2xx answer: the request is not to be sent again."""
    error.answered = True
    return error


class UsageError(GeminiCliError):
    """Bad flag, missing or unreadable local file, bad config, corrupt session file."""

    exit_code = ExitCode.USAGE


class AuthError(GeminiCliError):
    exit_code = ExitCode.AUTH


class ApiError(GeminiCliError):
    """An HTTP error answer from the API; the exit code follows from the status unless the
    body says better (a refused key is 3 although the status is 400).

    `details` is the error body's `details` list (google.rpc RetryInfo, QuotaFailure, ...);
    `retry_after` the wait the headers asked for (Retry-After / retry-after-ms), if any;
    `info` what api/errors.py read from the details (reason, quota_ids, links, retry_delay).
    """

    details: list | tuple = ()
    retry_after: float | None = None

    def __init__(self, message: str, *, status: int, api_status: str | None = None, exit_code: ExitCode | None = None,
                 retryable: bool | None = None, retry_delay: float | None = None, summary: str | None = None,
                 info: dict | None = None):
        super().__init__(message, exit_code=exit_code or exit_code_for_status(status))
        self.status = status
        self.api_status = api_status
        # Whether trying again can help: by the status, unless the body says otherwise (a daily quota).
        self.retryable = status in RETRY_STATUSES if retryable is None else retryable
        self.retry_delay = retry_delay  # seconds the body's google.rpc.RetryInfo asks to wait
        self.summary = summary or message  # what a retry note says (the message is shown once, at the end)
        self.info = info or {}

    @property
    def server_wait(self) -> float | None:
        """Seconds the API asked to wait: the headers' Retry-After first, else RetryInfo."""
        return self.retry_delay if self.retry_after is None else self.retry_after

    @property
    def daily_quota(self) -> bool:
        """A 429 that waiting seconds cannot cure (api/errors.py marks it not retryable)."""
        return self.status == 429 and not self.retryable


class NetworkError(GeminiCliError):
    """Connection failure, timeout, or the --max-time deadline."""

    exit_code = ExitCode.NETWORK
    delivered: bool = False  # the request had gone out whole: the server may have acted on it


class StreamInterrupted(GeminiCliError):
    """The stream ended before interaction.completed and could not be resumed."""

    exit_code = ExitCode.STREAM_INTERRUPTED


class NotCompleted(GeminiCliError):
    """The interaction ended with a status other than completed."""

    exit_code = ExitCode.NOT_COMPLETED


class SchemaMismatch(GeminiCliError):
    exit_code = ExitCode.SCHEMA


class ReplayMismatch(GeminiCliError):
    """--replay: a request that no unused exchange of the cassette answers. Never retried,
    never caught by a loop that goes on (a chat turn, a stream resume): the run stops."""

    exit_code = ExitCode.REPLAY_MISMATCH


class ToolLimit(GeminiCliError):
    """The tool-call limit of a turn was reached (--max-tool-calls); the turn is saved
    with its pending calls."""

    exit_code = ExitCode.TOOL_LIMIT


class ToolRefused(GeminiCliError):
    """The model called a tool that was refused (not declared, or needing a confirmation
    no one could give); the answer is still printed and saved."""

    exit_code = ExitCode.TOOL_REFUSED


class Terminated(BaseException):
    """Raised by the SIGTERM handler, so that partial turns are still saved on the way out."""


RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def exit_code_for_status(status: int) -> ExitCode:
    if status in (401, 403):
        return ExitCode.AUTH
    if status == 429:
        return ExitCode.RATE_LIMITED
    if status >= 500:
        return ExitCode.SERVER
    if status == 408:
        return ExitCode.NETWORK
    return ExitCode.REJECTED


# The string codes of the Interactions API (error bodies and SSE `error` events), and the
# canonical Google status names lower-cased (some servers send those instead).
API_CODES = {
    "authentication": ExitCode.AUTH,
    "unauthenticated": ExitCode.AUTH,
    "permission_denied": ExitCode.AUTH,
    "rate_limit_exceeded": ExitCode.RATE_LIMITED,
    "quota_exceeded": ExitCode.RATE_LIMITED,
    "resource_exhausted": ExitCode.RATE_LIMITED,
    "invalid_request": ExitCode.REJECTED,
    "invalid_argument": ExitCode.REJECTED,
    "parameter_unknown": ExitCode.REJECTED,
    "out_of_range": ExitCode.REJECTED,
    "payment_required": ExitCode.REJECTED,
    "not_found": ExitCode.REJECTED,
    "already_exists": ExitCode.REJECTED,
    "failed_precondition": ExitCode.REJECTED,
    "aborted": ExitCode.REJECTED,
    "conflict": ExitCode.REJECTED,
    "internal": ExitCode.SERVER,
    "unavailable": ExitCode.SERVER,
    "gateway_timeout": ExitCode.SERVER,
    "deadline_exceeded": ExitCode.SERVER,
    "unknown": ExitCode.SERVER,
    "data_loss": ExitCode.SERVER,
}


def exit_code_for_api_code(code: object) -> ExitCode:
    """An Interactions error code ("rate_limit_exceeded"), a status name, or an HTTP status
    number (int or digits). A code not known here is a server-side failure (6): the request
    had been accepted, so it was not rejected as such."""
    if isinstance(code, str) and len(code.strip()) == 3 and code.strip().isascii() and code.strip().isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool):
        return exit_code_for_status(code) if 400 <= code <= 599 else ExitCode.SERVER
    if isinstance(code, str):
        return API_CODES.get(code.strip().lower(), ExitCode.SERVER)
    return ExitCode.SERVER


def one_line(text: object) -> str:
    """Text for a one-line message or table cell: whitespace (newlines too) collapsed to
    single spaces. Here, the lowest module, so that api/ and render/ share it."""
    return " ".join(str(text or "").split())
