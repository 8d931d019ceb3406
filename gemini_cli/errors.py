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
    SIGINT = 130
    SIGTERM = 143


class GeminiCliError(Exception):
    """An error with a message for the user and an exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(GeminiCliError):
    """Bad flag, missing or unreadable local file, bad config, corrupt session file."""

    exit_code = ExitCode.USAGE


class AuthError(GeminiCliError):
    exit_code = ExitCode.AUTH


class ApiError(GeminiCliError):
    """An HTTP error answer from the API; the exit code follows from the status.

    `details` is the error body's `details` list (google.rpc RetryInfo, QuotaFailure, ...);
    `retry_after` the wait the headers asked for (Retry-After / retry-after-ms), if any.
    """

    details: list | tuple = ()
    retry_after: float | None = None

    def __init__(self, message: str, *, status: int, api_status: str | None = None):
        super().__init__(message, exit_code=exit_code_for_status(status))
        self.status = status
        self.api_status = api_status


class NetworkError(GeminiCliError):
    """Connection failure, timeout, or the --max-time deadline."""

    exit_code = ExitCode.NETWORK


class StreamInterrupted(GeminiCliError):
    """The stream ended before interaction.completed and could not be resumed."""

    exit_code = ExitCode.STREAM_INTERRUPTED


class NotCompleted(GeminiCliError):
    """The interaction ended with a status other than completed."""

    exit_code = ExitCode.NOT_COMPLETED


class SchemaMismatch(GeminiCliError):
    exit_code = ExitCode.SCHEMA


class Terminated(BaseException):
    """Raised by the SIGTERM handler, so that partial turns are still saved on the way out."""


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
