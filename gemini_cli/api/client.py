"""The HTTP layer: one httpx client, auth headers, retries with backoff, error mapping.

Every request goes through httpx's own transport (HTTP/1.1 framing, TLS, proxies from the
environment). Knows HTTP; never prints (except through the `note` callback) and never
reads argv.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import httpx

from gemini_cli import __version__
from gemini_cli.api import errors
from gemini_cli.api.bounds import MAX_ERROR_BODY, MAX_JSON_BODY, BodyTooLarge, Watchdog, mib, read_body
from gemini_cli.api.surrogates import loads_repaired
from gemini_cli.backoff import Backoff, backoff, capped
from gemini_cli.errors import RETRY_STATUSES, ApiError, NetworkError, UsageError, after_answer  # noqa: F401 (RETRY_STATUSES: runs/batch.py)
from gemini_cli.state.config import API_REVISION

MAX_BACKOFF = 8.0
JITTER = 0.25  # up to -25% of each backoff, as the official SDK does
REDACTED = "<redacted>"


def user_agent() -> str:
    # sys.version_info, not platform: importing platform costs start-up time.
    v = sys.version_info
    return f"gemini-cli/{__version__} python/{v.major}.{v.minor}.{v.micro}"


class ApiClient:
    """Sends requests to {base_url}/{api_version}/..., retrying what is safe to retry.

    `transport` is the one place where the httpx transport is chosen: None is httpx's own
    HTTPTransport (with proxies from the environment); a test may pass another (httpx then
    ignores `verify` and `limits`, which configure its own). `cassette` (--record/--replay,
    api/cassette.py) wraps the client built on it, or replaces it by one that never connects.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        api_key: str | None,
        key_source: str | None = None,
        timeout: float = 300.0,
        retries: int = 4,
        retry_delay: float = 0.5,
        max_time: float | None = None,
        note: Callable[[str], None] | None = None,
        connections: int = 1,
        transport: httpx.BaseTransport | None = None,
        cassette: Any = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self.max_time = max_time
        self.deadline = time.monotonic() + max_time if max_time else None  # wall clock (monotonic)
        self.note = note or (lambda message: None)
        self._api_key = api_key
        self.key_source = key_source  # where the key came from, for "the API refused the key from ..."
        # The watchdog makes --max-time hold even against a server that trickles bytes.
        self._watchdog = Watchdog(max_time) if max_time else None
        self._transport, self._connections = transport, connections
        # With a cassette the waits have no random part: a retry note reads the same when replayed.
        self.jitter = 0.0 if cassette else JITTER
        # --record wraps the client open_http gives; --replay replaces it (api/cassette.py).
        self._http = cassette.client(self.open_http, self.base_url) if cassette else self.open_http()
        # The last change to a JSON body as it is encoded, never kept: values a body may not
        # hold anywhere else (a remote MCP server's headers, request/remote_mcp.HeaderFiller).
        self.body_filter: Callable[[Any], Any] | None = None

    def open_http(self) -> httpx.Client:
        """The httpx client on the chosen transport. `connections`: requests this client sends
        at once (batch -j), kept alive for reuse. Certificates are loaded only for an https
        base URL (it costs start-up time)."""
        connections = self._connections
        limits = httpx.Limits(max_connections=max(connections, 10), max_keepalive_connections=connections)
        folder = os.environ.get("SSL_CERT_DIR")
        if self.base_url.startswith("https:") and folder and not os.environ.get("SSL_CERT_FILE") and not os.path.isdir(folder):
            # ssl looks in a capath only when verifying: a missing folder would fail every request later, unnamed
            why = "Not a directory" if os.path.exists(folder) else "No such file or directory"
            raise UsageError(f"cannot load the TLS certificates{cert_source()}: {why}")
        try:
            return httpx.Client(
                transport=self._transport, verify=self.base_url.startswith("https:"), follow_redirects=False, limits=limits,
            )
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise UsageError(f"cannot load the TLS certificates{cert_source()}: "
                             f"{getattr(exc, 'strerror', None) or exc}") from None

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._http.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.api_version}/{path}"

    def headers(self, accept: str = "application/json", *, auth: bool = True, shown_key: str | None = None) -> dict[str, str]:
        """The request headers. `shown_key`: the headers as --dry-run shows them, with this
        text where the key goes (never the key itself)."""
        headers = {
            "Content-Type": "application/json",
            "Accept": accept,
            "Api-Revision": API_REVISION,
            "User-Agent": user_agent(),
        }
        if auth and shown_key is not None:
            headers["x-goog-api-key"] = shown_key
        elif auth and self._api_key:
            headers["x-goog-api-key"] = self._api_key
        return headers

    # -- the deadline ------------------------------------------------------------------------

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check_deadline(self) -> None:
        if self.expired():
            raise self.deadline_error()

    def expired(self) -> bool:
        """The --max-time deadline has passed (or the watchdog cut the connections at it)."""
        left = self.remaining()
        return (left is not None and left <= 0) or self.cut_at_deadline()

    def cut_at_deadline(self) -> bool:
        """The watchdog shut the connections down at the --max-time deadline."""
        return self._watchdog is not None and self._watchdog.fired

    def deadline_error(self) -> NetworkError:
        return NetworkError(f"gave up: the --max-time deadline of {self.max_time:g}s was reached")

    def retrier(self, *, retries: int | None = None, sleep: Callable[[float], None] = time.sleep) -> Backoff:
        """The waits of a retry loop: this client's backoff, retry budget and deadline."""
        return Backoff(first=self.retry_delay, cap=MAX_BACKOFF, retries=self.retries if retries is None else retries,
                       deadline=self, jitter=self.jitter, sleep=sleep)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with up to -25% jitter, as the official SDK does."""
        return backoff(attempt, self.retry_delay, MAX_BACKOFF, self.jitter)

    def _timeout(self) -> httpx.Timeout:
        self.check_deadline()
        left = self.remaining()
        seconds = capped(self.timeout if left is None else min(self.timeout, left))  # --timeout 1e10: a socket's limit
        return httpx.Timeout(seconds, connect=min(seconds, 30.0))

    # -- sending -----------------------------------------------------------------------------

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
        resend: bool = True,
        limit: int = MAX_JSON_BODY,
    ) -> httpx.Response:
        """Send one request, retrying 408/429/5xx and connection errors with backoff.

        Returns a 2xx response (still open when `stream`; else its body read, at most
        `limit` bytes); raises ApiError or NetworkError otherwise. Retries happen only until
        the server answers 2xx: a create is never sent twice once it was answered, even if
        the body then stalls or is cut. With `resend=False` (a create billed as a whole job),
        it is not sent again either once it may have reached the server unanswered (the
        connection broke or stalled after the request went out): that NetworkError has
        `delivered` set, for the caller to find out what the server did.
        """
        if json_body is not None:
            if self.body_filter is not None:
                json_body = self.body_filter(json_body)
            content = encode_json(json_body)
        waits = self.retrier(retries=self.retries if retry else 0)
        extensions = {"trace": self._watchdog.trace} if self._watchdog is not None else {}
        while True:
            timeout = self._timeout()
            request = self._http.build_request(
                method, url, content=content, params=params, headers=headers or self.headers(),
                timeout=timeout, extensions=extensions,
            )
            wait = None
            try:
                response = self._http.send(request, stream=True)
            except httpx.TimeoutException as exc:
                if self.expired() or (timeout.read is not None and timeout.read < capped(self.timeout)):
                    # The timeout was cut short by --max-time: that is what ran out.
                    raise self.deadline_error() from None
                if not resend and isinstance(exc, UNANSWERED):
                    raise delivered(exc) from None
                error: NetworkError | ApiError = NetworkError(f"request timed out ({type(exc).__name__}) talking to {self.base_url}")
            except httpx.LocalProtocolError:
                # httpx's message would quote the offending header: maybe the API key.
                raise NetworkError("a request header holds a character HTTP cannot carry (not shown)") from None
            except httpx.TransportError as exc:
                if self.expired():
                    raise self.deadline_error() from None
                if not resend and isinstance(exc, UNANSWERED):
                    raise delivered(exc) from None
                error = NetworkError(f"network error talking to {self.base_url}{via_proxy(self.base_url)}: "
                                     f"{exc or type(exc).__name__}")
            else:
                if response.status_code < 300:
                    break
                error = self._error_answer(response)
                if not error.retryable:
                    raise error
                wait = retry_after(response.headers, error.retry_delay)
                if waits.retries is None or waits.attempt < waits.retries:  # a wait too long to honour: give up now
                    refused = None if wait is None else errors.wait_refused(error, wait, self.remaining())
                    if refused is not None:
                        raise refused
            delay = waits.next(wait)
            if delay is None:
                raise error
            self.note(f"{errors.retry_label(error)}; retrying in {delay:.1f}s "
                      f"(attempt {waits.attempt + 2} of {self.retries + 1})")
            waits.sleep(delay)
        if not stream:
            self.read(response, limit)
        return response

    def read(self, response: httpx.Response, limit: int = MAX_JSON_BODY) -> bytes:
        """The body of an answered request; never retried (the server has answered)."""
        try:
            return read_body(response, limit)
        except BodyTooLarge:
            raise after_answer(ApiError(f"HTTP {response.status_code}: the API sent a body larger than {mib(limit)}; "
                                        "stopped reading it", status=502)) from None
        except httpx.TimeoutException:
            if self.expired():  # a read timeout cut short by --max-time
                raise self.deadline_error() from None
            raise after_answer(NetworkError(f"the answer stalled: no data for {self.timeout:g}s (--timeout) while "
                                            "reading its body; not sent again, as the server had answered")) from None
        except httpx.DecodingError:
            raise after_answer(NetworkError("the answer's compressed data (Content-Encoding) was corrupt; "
                                            "not sent again, as the server had answered")) from None
        except httpx.TransportError as exc:
            if self.expired():
                raise self.deadline_error() from None
            raise after_answer(NetworkError(f"the connection broke while reading the answer ({exc or type(exc).__name__}); "
                                            "not sent again, as the server had answered")) from None

    def _error_answer(self, response: httpx.Response) -> ApiError:
        """The ApiError for a non-2xx answer, its body read up to MAX_ERROR_BODY."""
        try:
            read_body(response, MAX_ERROR_BODY)
        except BodyTooLarge:
            why = f"an error body larger than {mib(MAX_ERROR_BODY)}; not read"
        except (httpx.TransportError, httpx.DecodingError) as exc:
            if self.expired():
                raise self.deadline_error() from None
            why = f"the error body could not be read: {exc or type(exc).__name__}"
        else:
            return api_error(response, self.key_source)
        label = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        error = ApiError(f"{label}: ({why})", status=response.status_code, summary=label)
        error.retry_after = retry_after(response.headers)
        return error

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.send(method, url, **kwargs)
        return parse_json_body(response)


# What breaks once the request went out whole: the server may have acted on it.
UNANSWERED = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError, httpx.CloseError)


def delivered(exc: Exception) -> NetworkError:
    lost = NetworkError(f"the connection broke or stalled after the request was sent, before an answer "
                        f"({exc or type(exc).__name__}); not sent again")
    lost.delivered = True
    return lost


def encode_json(body: Any) -> bytes:
    """A request's JSON body as sent; exit 2 for what cannot be (--dry-run refuses it alike)."""
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:  # an argument whose bytes were not UTF-8 (kept as surrogates)
        raise UsageError("the request holds text that is not UTF-8 (a command-line argument?)") from None
    except ValueError:  # NaN or Infinity: not JSON, the API would refuse the body
        raise UsageError("the request holds a number that is not finite (NaN or Infinity)") from None


def parse_json_body(response: httpx.Response) -> Any:
    """The JSON of a 2xx body; any failure is marked answered (never sent again)."""
    body = response.content
    if not body.strip():
        raise after_answer(ApiError(f"HTTP {response.status_code}: the API sent an empty body", status=502))
    try:
        return loads_repaired(body, json.loads, response)
    except ValueError:
        kind = response.headers.get("content-type", "unknown type")
        raise after_answer(ApiError(f"HTTP {response.status_code}: the API sent a body that is not JSON ({kind})",
                                    status=502)) from None
    except RecursionError:  # absurdly deep nesting: the parser's stack is not the server's to spend
        raise after_answer(ApiError(f"HTTP {response.status_code}: the API sent JSON nested too deeply to read",
                                    status=502)) from None


def retry_after(headers: httpx.Headers, retry_delay: float | None = None) -> float | None:
    """Seconds the API asks to wait (headers first, then the body's RetryInfo); see api/errors.py."""
    return errors.retry_after(headers, retry_delay)


def cert_source() -> str:
    """" from SSL_CERT_FILE=...", the variable that chose the certificates, if one did."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        if os.environ.get(name):
            return f" from {name}={os.environ[name]}"
    return ""


def via_proxy(url: str) -> str:
    """" through the proxy P (from HTTPS_PROXY)" when one applies to url, so that a refusing
    proxy is named rather than the API; the proxy's password is left out."""
    scheme, host = urlsplit(url).scheme, urlsplit(url).hostname or ""
    proxy = getproxies().get(scheme)
    if not proxy or proxy_bypass(host):
        return ""
    names = [n for n in (f"{scheme.upper()}_PROXY", f"{scheme}_proxy", "ALL_PROXY", "all_proxy") if os.environ.get(n)]
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    shown = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return f" through the proxy {shown}" + (f" (from {names[0]})" if names else "")


def api_error(response: httpx.Response, key_source: str | None = None) -> ApiError:
    """An ApiError carrying the HTTP status, the API's own message and the details that help."""
    return errors.api_error(response.status_code, response.reason_phrase or "", response.headers, response.content,
                            key_source)
