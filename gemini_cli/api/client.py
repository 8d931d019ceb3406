"""The HTTP layer: one httpx client, auth headers, retries with backoff, error mapping.

Knows HTTP; never prints (except through the `note` callback) and never reads argv.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from gemini_cli import __version__
from gemini_cli.api.transport import for_url
from gemini_cli.state.config import API_REVISION
from gemini_cli.errors import ApiError, NetworkError

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_BACKOFF = 8.0
REDACTED = "<redacted>"


def user_agent() -> str:
    # sys.version_info, not platform: importing platform costs start-up time.
    v = sys.version_info
    return f"gemini-cli/{__version__} python/{v.major}.{v.minor}.{v.micro}"


class ApiClient:
    """Sends requests to {base_url}/{api_version}/..., retrying what is safe to retry."""

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        api_key: str | None,
        timeout: float = 300.0,
        retries: int = 4,
        retry_delay: float = 0.5,
        max_time: float | None = None,
        note: Callable[[str], None] | None = None,
        connections: int = 1,
    ):
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self.deadline = time.monotonic() + max_time if max_time else None
        self.max_time = max_time
        self.note = note or (lambda message: None)
        self._api_key = api_key
        # `connections`: requests this client sends at once (batch -j); kept-alive for reuse.
        transport = for_url(self.base_url, keep_alive=connections)
        if transport is not None:
            self._http = httpx.Client(transport=transport, follow_redirects=False)
        else:  # through a proxy: httpx's own transport. Certificates only for https.
            limits = httpx.Limits(max_connections=max(connections, 10), max_keepalive_connections=connections)
            self._http = httpx.Client(verify=self.base_url.startswith("https:"), follow_redirects=False, limits=limits)

    def close(self) -> None:
        self._http.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.api_version}/{path}"

    def headers(self, accept: str = "application/json", *, auth: bool = True) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": accept,
            "Api-Revision": API_REVISION,
            "User-Agent": user_agent(),
        }
        if auth and self._api_key:
            headers["x-goog-api-key"] = self._api_key
        return headers

    # -- sending -----------------------------------------------------------

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check_deadline(self) -> None:
        left = self.remaining()
        if left is not None and left <= 0:
            raise self.deadline_error()

    def deadline_error(self) -> NetworkError:
        return NetworkError(f"gave up: the --max-time deadline of {self.max_time:g}s was reached")

    def _timeout(self) -> httpx.Timeout:
        self.check_deadline()
        left = self.remaining()
        seconds = self.timeout if left is None else min(self.timeout, left)
        return httpx.Timeout(seconds, connect=min(seconds, 30.0))

    def send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        content: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        retry: bool = True,
    ) -> httpx.Response:
        """Send one request, retrying 408/429/5xx and connection errors with backoff.

        Returns a 2xx response (still open when `stream`); raises ApiError or
        NetworkError otherwise. Retries happen only before any body was read, so a
        create is never repeated once output has started.
        """
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        attempt = 0
        while True:
            timeout = self._timeout()
            request = self._http.build_request(
                method, url, content=content, params=params, headers=headers or self.headers(),
                timeout=timeout,
            )
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                if timeout.read is not None and timeout.read < self.timeout:
                    # The timeout was cut short by --max-time: that is what ran out.
                    raise self.deadline_error() from None
                error: Exception = NetworkError(f"request timed out ({type(exc).__name__}) talking to {self.base_url}")
                wait = None
            except httpx.TransportError as exc:
                error = NetworkError(f"network error talking to {self.base_url}: {exc or type(exc).__name__}")
                wait = None
            else:
                if response.status_code < 300:
                    return response
                if stream:
                    response.read()
                response.close()
                error = api_error(response)
                if response.status_code not in RETRY_STATUSES:
                    raise error
                wait = retry_after(response.headers)
            if not retry or attempt >= self.retries:
                raise error
            delay = wait if wait is not None else self.backoff(attempt)
            left = self.remaining()
            if left is not None and delay >= left:
                raise error
            attempt += 1
            self.note(f"{error.message}; retrying in {delay:.1f}s (attempt {attempt + 1} of {self.retries + 1})")
            time.sleep(delay)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with up to -25% jitter, as the official SDK does."""
        return min(self.retry_delay * 2**attempt * (1 - random.uniform(0, 0.25)), MAX_BACKOFF)

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.send(method, url, **kwargs)
        return parse_json_body(response)


def parse_json_body(response: httpx.Response) -> Any:
    body = response.content
    if not body.strip():
        raise ApiError(f"HTTP {response.status_code}: the API sent an empty body", status=502)
    try:
        return json.loads(body)
    except ValueError:
        kind = response.headers.get("content-type", "unknown type")
        raise ApiError(f"HTTP {response.status_code}: the API sent a body that is not JSON ({kind})", status=502) from None


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from retry-after-ms (preferred) or Retry-After (seconds or a date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        import email.utils  # only for the rare HTTP-date form

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def api_error(response: httpx.Response) -> ApiError:
    """An ApiError carrying the HTTP status and the API's own message."""
    status = response.status_code
    reason = response.reason_phrase or ""
    message, api_status, details = "", None, []
    try:
        payload = json.loads(response.content)
        error = payload.get("error", payload) if isinstance(payload, dict) else {}
        if isinstance(error, dict):
            message = str(error.get("message") or "")
            api_status = error.get("status") or (error.get("code") if isinstance(error.get("code"), str) else None)
            details = error.get("details") if isinstance(error.get("details"), list) else []
    except ValueError:
        kind = response.headers.get("content-type", "").split(";")[0] or "no content type"
        message = f"(the body is not JSON: {kind})" if response.content.strip() else "(empty body)"
    label = " ".join(part for part in (f"HTTP {status}", api_status or reason) if part)
    hint = _HINTS.get(status, "")
    error = ApiError(f"{label}: {message}{hint}" if message else f"{label}{hint}", status=status, api_status=api_status)
    error.details, error.retry_after = details, retry_after(response.headers)
    return error


_HINTS = {
    401: " (check GEMINI_API_KEY)",
    403: " (check that the API key is valid and allowed to use this API)",
    429: " (rate limit or quota exhausted; try again later)",
}
