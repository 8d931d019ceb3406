"""Batch API endpoints (interactions-api.md §13): create, get, list, cancel, delete, and the
responses file, downloaded as a stream of lines.

Knows HTTP; never prints and never reads argv. Every call goes through ApiClient.send, so
polls and downloads retry transient failures and honour --max-time like any other call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx

from gemini_cli.api.bounds import MAX_JOB_BODY
from gemini_cli.api.client import ApiClient, parse_json_body
from gemini_cli.api.pages import every_page
from gemini_cli.errors import ApiError, NetworkError, UsageError

PAGE_SIZE = 20  # jobs a list page holds: each may carry an inline job's results (MAX_JOB_BODY a page)
MAX_LINE = 64 * 1024 * 1024  # one response line of the responses file, at most
READ_SIZE = 256 * 1024

# A job name before it goes into a URL path: no "/", "..", "?", "#" or "%".
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_FILE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")

# metadata.state as the API sends it (BATCH_STATE_*), or as the SDK names it (JOB_STATE_*)
PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, EXPIRED = "pending", "running", "succeeded", "failed", "cancelled", "expired"
FINISHED = frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED})


def job_name(name: str) -> str:
    """`batches/<id>` for `batches/<id>`; UsageError for anything that is not one."""
    value = name.strip()
    ident = value[len("batches/"):] if value.startswith("batches/") else ""
    if not _ID.fullmatch(ident):
        raise UsageError(f"{name!r} is not a Batch API job name (batches/<id>)")
    return value


def model_path(model: str) -> str:
    return model if model.startswith("models/") else f"models/{model}"


def create(client: ApiClient, model: str, batch: dict[str, Any]) -> dict[str, Any]:
    """POST /{v}/models/{model}:batchGenerateContent with {"batch": batch}: the job resource.
    Never sent again once it may have reached the server (resend=False): a second create would
    be a second job, billed; the caller looks for the first (NetworkError.delivered)."""
    if not re.fullmatch(r"(models/)?[A-Za-z0-9._-]+", model):
        raise UsageError(f"model {model!r} cannot name a Batch API endpoint (letters, digits, '.', '_', '-')")
    response = client.send("POST", client.url(f"{model_path(model)}:batchGenerateContent"), json_body={"batch": batch},
                           resend=False)
    return _resource(response)


def get(client: ApiClient, name: str) -> dict[str, Any]:
    try:
        return _resource(client.send("GET", client.url(job_name(name)), limit=MAX_JOB_BODY))
    except ApiError as exc:
        raise _naming(exc, name) from None


def iter_jobs(client: ApiClient, page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
    """Every job, following nextPageToken until it is empty."""
    for page in every_page(client, "batches", page_size, limit=MAX_JOB_BODY):
        yield from (job for job in page.get("operations") or page.get("batches") or [] if isinstance(job, dict))


def cancel(client: ApiClient, name: str) -> None:
    try:
        client.send("POST", client.url(f"{job_name(name)}:cancel"), content=b"").close()
    except ApiError as exc:
        raise _naming(exc, name) from None


def delete(client: ApiClient, name: str) -> None:
    try:
        client.send("DELETE", client.url(job_name(name))).close()
    except ApiError as exc:
        raise _naming(exc, name) from None


def response_lines(client: ApiClient, file: str) -> Iterator[bytes]:
    """The lines of a responses file (`files/<id>`), read as they arrive: never the whole file.

    GET /{v}/files/<id>:download?alt=media, as the SDK does (the reference also names
    /download/{v}/...). A line longer than MAX_LINE is an error (exit 6), not a memory bomb.
    A connection cut mid-body raises NetworkError: the caller may start again.
    """
    ident = file[len("files/"):] if file.startswith("files/") else ""
    if not _FILE_ID.fullmatch(ident):
        raise ApiError(f"the job names a responses file {file!r} that is not a Files API name", status=502)
    response = client.send("GET", client.url(f"files/{ident}:download"), params={"alt": "media"},
                           headers=client.headers("application/octet-stream"), stream=True)
    try:
        pending = b""
        try:
            for chunk in response.iter_bytes(READ_SIZE):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                yield from (line for line in lines if line.strip())
                if len(pending) > MAX_LINE:
                    raise ApiError(f"{file}: a line longer than {MAX_LINE // (1024 * 1024)} MiB; stopped reading",
                                   status=502)
        except httpx.TimeoutException:
            if client.expired():
                raise client.deadline_error() from None
            raise NetworkError(f"{file}: the download stalled (no data for {client.timeout:g}s)") from None
        except httpx.TransportError as exc:
            if client.expired():
                raise client.deadline_error() from None
            raise NetworkError(f"{file}: the download broke off ({exc or type(exc).__name__})") from None
        if pending.strip():
            yield pending
    finally:
        response.close()


def _resource(response: Any) -> dict[str, Any]:
    body = parse_json_body(response)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise ApiError(f"HTTP {response.status_code}: the API sent a job without a name", status=502)
    return body


def _naming(exc: ApiError, name: str) -> ApiError:
    if exc.status == 404:
        exc.message = f"{name}: no such batch job (deleted, or made with another key): {exc.message}"
        exc.args = (exc.message,)
    return exc


# -- reading a job resource ----------------------------------------------------------------


def metadata(job: dict[str, Any]) -> dict[str, Any]:
    """The GenerateContentBatch: the operation's `metadata`, or the job itself (SDK shape)."""
    meta = job.get("metadata")
    return meta if isinstance(meta, dict) else job


def state(job: dict[str, Any]) -> str:
    """pending, running, succeeded, failed, cancelled, expired, or the API's word lower-cased."""
    raw = metadata(job).get("state")
    if not isinstance(raw, str) or not raw:
        return "unknown"
    word = raw.upper()
    for prefix in ("BATCH_STATE_", "JOB_STATE_"):
        if word.startswith(prefix):
            word = word[len(prefix):]
    return {"CANCELED": CANCELLED}.get(word, word.lower())


def counts(job: dict[str, Any]) -> dict[str, int]:
    """batchStats as ints (int64 travel as strings): total, succeeded, failed, pending."""
    stats = metadata(job).get("batchStats")
    stats = stats if isinstance(stats, dict) else {}
    names = {"total": "requestCount", "succeeded": "successfulRequestCount", "failed": "failedRequestCount",
             "pending": "pendingRequestCount"}
    out = {}
    for key, name in names.items():
        try:
            out[key] = int(stats.get(name) or 0)
        except (TypeError, ValueError):
            out[key] = 0
    return out


def output(job: dict[str, Any]) -> dict[str, Any]:
    meta = metadata(job)
    found = meta.get("output")
    if not isinstance(found, dict):
        found = job.get("response") if isinstance(job.get("response"), dict) else {}
        found = found.get("output", found) if isinstance(found, dict) else {}
    return found if isinstance(found, dict) else {}


def inlined_responses(job: dict[str, Any]) -> list[Any] | None:
    """The inline results in request order, or None when the job has a responses file."""
    found = output(job).get("inlinedResponses")
    if isinstance(found, dict):
        found = found.get("inlinedResponses")
    return found if isinstance(found, list) else None


def responses_file(job: dict[str, Any]) -> str | None:
    found = output(job).get("responsesFile")
    return found if isinstance(found, str) and found else None
