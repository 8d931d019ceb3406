"""Reading the API's error answers: status + headers + body -> an ApiError that says what
happened (the API's message once, plus the details that help a person), its exit code,
whether trying again can help, and how long the API asked to wait.

Pure functions: no I/O, and the clock only for a Retry-After given as an HTTP date.
Any body shape is accepted: a field of the wrong type is ignored, never a crash.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any

from gemini_cli.errors import (
    ApiError, ExitCode, GeminiCliError, exit_code_for_api_code, exit_code_for_status, one_line,
)

# The longest wait the API may ask for (Retry-After, retry-after-ms, RetryInfo.retryDelay).
# A longer one gives up at once: a tool in a script should not sleep for an hour.
MAX_WAIT = 60.0

# google.rpc.ErrorInfo reasons that mean the key itself was refused (sent with HTTP 400).
KEY_REASONS = {
    "API_KEY_INVALID": "refused",
    "API_KEY_EXPIRED": "refused as expired",
    "API_KEY_SERVICE_BLOCKED": "refused for this API (the key is blocked from the Gemini API)",
}
_TYPE = "type.googleapis.com/google.rpc."
_DURATION = re.compile(r"\s*(-?\d+(?:\.\d+)?)s\s*")
_LIST_LIMIT = 3  # quota ids and help links shown at most


def api_error(status: int, reason_phrase: str, headers: Mapping[str, str], content: bytes,
              key_source: str | None = None) -> ApiError:
    """The ApiError for one HTTP error answer."""
    error, unreadable = _error_object(content, headers.get("content-type", ""))
    message = one_line(_text(error.get("message")))
    # "INVALID_ARGUMENT" (Google's status), else the Interactions API's string code; numbers say nothing new.
    api_status = next((value for value in (error.get("status"), error.get("code")) if isinstance(value, str)), "")
    api_status = one_line(api_status)[:80]
    details = _details(error.get("details"))
    code = api_status.lower()

    exit_code = exit_code_for_status(status)
    retryable = None  # from the status
    notes: list[str] = []
    key_reason = details["reason"] if details["reason"] in KEY_REASONS else ""
    daily_ids = [quota_id for quota_id in details["quota_ids"] if "perday" in quota_id.lower()]
    daily = code == "quota_exceeded" or bool(daily_ids)
    if key_reason:
        exit_code, retryable = ExitCode.AUTH, False
        source = f" from {key_source}" if key_source else ""
        notes.append(f"{key_reason}: the API {KEY_REASONS[key_reason]} the API key{source}")
    elif details["reason"]:
        notes.append(f"reason {details['reason']}")
    if status == 429 and daily:
        exit_code, retryable = ExitCode.RATE_LIMITED, False
        which = f"daily quota {', '.join(daily_ids[:_LIST_LIMIT])}" if daily_ids else "daily quota"
        notes.append(f"{which} exhausted: not retried, it resets once a day")
    elif details["quota_ids"]:
        notes.append(f"quota {', '.join(details['quota_ids'][:_LIST_LIMIT])}")
    elif status == 429:
        notes.append("rate limit or quota exhausted; try again later")
    if status == 401:
        notes.append(f"check {key_source or 'GEMINI_API_KEY'}")
    elif status == 403:
        notes.append("check that the API key is valid and allowed to use this API")
    notes += [f"help: {url}" for url in details["links"][:_LIST_LIMIT]]

    label = " ".join(part for part in (f"HTTP {status}", api_status or reason_phrase) if part)
    text = f"{label}: {message or unreadable}" if message or unreadable else label
    if notes:
        text += f" ({'; '.join(notes)})"
    result = ApiError(text, status=status, api_status=api_status or None, exit_code=exit_code, retryable=retryable,
                      retry_delay=details["retry_delay"], summary=label,
                      info={key: value for key, value in details.items() if value not in ("", None, [])})
    result.details = error["details"] if isinstance(error.get("details"), list) else []
    result.retry_after = retry_after(headers)  # the headers' wait only (batch's limiter reads both)
    return result


def retry_after(headers: Mapping[str, str], retry_delay: float | None = None) -> float | None:
    """Seconds the API asks to wait: retry-after-ms, else Retry-After (seconds or an HTTP date),
    else the body's RetryInfo.retryDelay. A value that is not a finite number is ignored."""
    ms = _finite(headers.get("retry-after-ms"))
    if ms is not None:
        return max(ms / 1000, 0.0)
    value = (headers.get("retry-after") or "").strip()
    seconds = _finite(value)
    if seconds is None and value:
        seconds = _http_date(value)
    if seconds is not None:
        return max(seconds, 0.0)
    return retry_delay


def wait_refused(error: ApiError, wait: float, left: float | None) -> ApiError | None:
    """The error to exit with when the API asks for a wait longer than MAX_WAIT or than what is
    left of --max-time (None when the wait is fine). Exits with the answer's own code."""
    if wait > MAX_WAIT:
        why = f"more than the {MAX_WAIT:g}s this tool waits"
    elif left is not None and wait >= left:
        why = "more than is left of --max-time"
    else:
        return None
    return ApiError(f"{error.message}; the API asked to wait {_duration(wait)} before retrying, {why}: giving up",
                    status=error.status, api_status=error.api_status, exit_code=error.exit_code, retryable=False)


def retry_label(error: GeminiCliError) -> str:
    """What a retry note says about the failure: the API's message is kept for the final error."""
    return getattr(error, "summary", None) or error.message


def stream_error(error: Any) -> GeminiCliError:
    """An SSE `error` event ({code, message}); the code picks the exit code."""
    error = error if isinstance(error, dict) else {"message": error}
    raw = error.get("code")
    code = one_line(_text(raw))[:80] or "error"
    message = _text(error.get("message")) or "no message"
    return GeminiCliError(f"the API reported an error during the stream: {code}: {message}",
                          exit_code=exit_code_for_api_code(raw))


# -- reading the body --------------------------------------------------------------------------


def _error_object(content: bytes, content_type: str) -> tuple[dict[str, Any], str]:
    """The `error` object of the body (or the body itself), and what to say when there is none."""
    if not content.strip():
        return {}, "(empty body)"
    try:
        payload = json.loads(content)
    except ValueError:
        return {}, f"(the body is not JSON: {content_type.split(';')[0].strip() or 'no content type'})"
    except RecursionError:
        return {}, "(the body is JSON nested too deeply to read)"
    if not isinstance(payload, dict):
        return {}, ""
    error = payload.get("error", payload)
    return (error, "") if isinstance(error, dict) else ({"message": error}, "")


def _details(details: Any) -> dict[str, Any]:
    """What helps a person (and the retry loop) from google.rpc details; wrong shapes ignored."""
    found: dict[str, Any] = {"reason": "", "retry_delay": None, "quota_ids": [], "links": []}
    if not isinstance(details, list):
        return found
    for detail in details[:50]:
        if not isinstance(detail, dict):
            continue
        kind = _text(detail.get("@type")).removeprefix(_TYPE)
        if kind == "ErrorInfo" and not found["reason"]:
            found["reason"] = one_line(_text(detail.get("reason")))[:80]
        elif kind == "RetryInfo" and found["retry_delay"] is None:
            found["retry_delay"] = _protobuf_duration(detail.get("retryDelay"))
        elif kind == "QuotaFailure":
            for violation in _list(detail.get("violations")):
                quota_id = one_line(_text(violation.get("quotaId") if isinstance(violation, dict) else None))[:200]
                if quota_id and quota_id not in found["quota_ids"]:
                    found["quota_ids"].append(quota_id)
        elif kind == "Help":
            for link in _list(detail.get("links")):
                url = one_line(_text(link.get("url") if isinstance(link, dict) else None))[:500]
                if url and url not in found["links"]:
                    found["links"].append(url)
    return found


def _protobuf_duration(value: Any) -> float | None:
    """ "34s" / "33.47s" (a JSON protobuf Duration) -> seconds; anything else -> None."""
    if isinstance(value, dict):  # the binary form written as JSON: {"seconds": 34, "nanos": 0}
        seconds, nanos = _finite(value.get("seconds")), _finite(value.get("nanos") or 0)
        return None if seconds is None or nanos is None else max(seconds + nanos / 1e9, 0.0)
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    seconds = _finite(match.group(1)) if match else None
    return None if seconds is None else max(seconds, 0.0)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _http_date(value: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _text(value: Any) -> str:
    """A string or a number as text; other shapes (lists, objects, null) as nothing."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def _list(value: Any) -> list[Any]:
    return value[:50] if isinstance(value, list) else []


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.2f}".rstrip("0").rstrip(".") + "s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"
