"""The API's error answers, as the real API sends them: a refused key, a 429 with RetryInfo and
QuotaFailure, the daily quota, SSE `error` codes, server-requested waits (capped, never past
--max-time, non-numbers ignored) and error bodies of any shape.

Through the CLI against a loopback server (exit code, exact stderr, request count, the waits),
plus the pure functions of gemini_cli/api/errors.py."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from conftest import API_KEY, sse, text_events
from conftest import run_checked as run
from gemini_cli.api import errors
from gemini_cli.backoff import Backoff
from gemini_cli.errors import ExitCode, exit_code_for_api_code, exit_code_for_status

TYPE = "type.googleapis.com/google.rpc."
KEY_MESSAGE = "API key not valid. Please pass a valid API key."
QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more information on this "
    "error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: "
    "https://ai.dev/usage?tab=rate-limit. \n* Quota exceeded for metric: "
    "generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 20, model: gemini-2.5-flash\n"
    "Please retry in 33.47s."
)
QUOTA_LINE = " ".join(QUOTA_MESSAGE.split())  # printed on one line
HELP_URL = "https://ai.google.dev/gemini-api/docs/rate-limits"
PER_MINUTE = "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
PER_DAY = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"


def key_refused(reason: str = "API_KEY_INVALID") -> dict:
    """HTTP 400 for a refused key, as the API sends it."""
    return {"error": {"code": 400, "message": KEY_MESSAGE, "status": "INVALID_ARGUMENT", "details": [
        {"@type": TYPE + "ErrorInfo", "reason": reason, "domain": "googleapis.com",
         "metadata": {"service": "generativelanguage.googleapis.com"}},
        {"@type": TYPE + "LocalizedMessage", "locale": "en-US", "message": KEY_MESSAGE},
    ]}}


def quota_429(quota_id: str = PER_MINUTE, retry_delay: str | None = "33.47s") -> dict:
    """HTTP 429 for a quota, as the API sends it: no Retry-After header, the wait in the body."""
    details = [
        {"@type": TYPE + "QuotaFailure", "violations": [{
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
            "quotaId": quota_id, "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
            "quotaValue": "20"}]},
        {"@type": TYPE + "Help", "links": [{"description": "Learn more about Gemini API quotas", "url": HELP_URL}]},
    ]
    if retry_delay is not None:
        details.append({"@type": TYPE + "RetryInfo", "retryDelay": retry_delay})
    return {"error": {"code": 429, "message": QUOTA_MESSAGE, "status": "RESOURCE_EXHAUSTED", "details": details}}


@pytest.fixture
def sleeps(monkeypatch):
    """The retry loop's waits, recorded instead of slept (waits of minutes)."""
    waits: list[float] = []
    original = Backoff.sleep

    def record(self, delay):
        waits.append(delay)
        self._sleep = lambda seconds: None
        original(self, delay)  # counts the attempt as before

    monkeypatch.setattr(Backoff, "sleep", record)
    return waits


# -- a refused key: exit 3, naming where the key came from ----------------------------------------


@pytest.mark.parametrize("reason, how", [
    ("API_KEY_INVALID", "refused"),
    ("API_KEY_EXPIRED", "refused as expired"),
    ("API_KEY_SERVICE_BLOCKED", "refused for this API (the key is blocked from the Gemini API)"),
])
@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_refused_key_exits_3_naming_the_variable(api, reason, how, stream):
    api.json(key_refused(reason), status=400)
    result = run(["generate", stream, "hi"])
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (f"gemini-cli: error: HTTP 400 INVALID_ARGUMENT: {KEY_MESSAGE} "
                             f"({reason}: the API {how} the API key from GEMINI_API_KEY)\n")
    assert len(api.requests()) == 1


def test_refused_key_from_google_api_key(api, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", API_KEY)
    api.json(key_refused(), status=400)
    result = run(["generate", "hi"])
    assert result.exit_code == 3
    assert result.stderr.endswith("(API_KEY_INVALID: the API refused the API key from GOOGLE_API_KEY)\n")


@pytest.mark.parametrize("entry", ["api_key", "api_key_command"])
def test_refused_key_from_the_config_file(api, home, monkeypatch, entry):
    monkeypatch.delenv("GEMINI_API_KEY")
    config = home / "config.yaml"
    value = API_KEY if entry == "api_key" else f"echo {API_KEY}"
    config.write_text(f"retry_delay: 0.01\n{entry}: {value}\n")
    config.chmod(0o600)
    api.json(key_refused(), status=400)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (f"gemini-cli: error: HTTP 400 INVALID_ARGUMENT: {KEY_MESSAGE} "
                             f"(API_KEY_INVALID: the API refused the API key from {entry} in {config})\n")
    assert api.requests()[0].headers["x-goog-api-key"] == API_KEY  # the key was sent, never printed


def test_other_error_info_reason_is_shown_and_keeps_the_status_code(api):
    body = {"error": {"code": 403, "message": "Generative Language API has not been used in project 1.",
                      "status": "PERMISSION_DENIED",
                      "details": [{"@type": TYPE + "ErrorInfo", "reason": "SERVICE_DISABLED", "domain": "googleapis.com"}]}}
    api.json(body, status=403)
    result = run(["generate", "hi"])
    assert result.exit_code == 3
    assert result.stderr == ("gemini-cli: error: HTTP 403 PERMISSION_DENIED: Generative Language API has not been used "
                             "in project 1. (reason SERVICE_DISABLED; check that the API key is valid and allowed to "
                             "use this API)\n")


# -- 429: RetryInfo.retryDelay honoured, capped, within --max-time ---------------------------------


def test_429_retry_delay_is_the_wait(api, sleeps):
    api.json(quota_429(), status=429)
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert sleeps == [33.47]
    assert result.stderr == "gemini-cli: HTTP 429 RESOURCE_EXHAUSTED; retrying in 33.5s (attempt 2 of 5)\n"
    assert len(api.requests()) == 2


def test_429_retry_delay_really_waits(api):
    api.json(quota_429(retry_delay="0.3s"), status=429)
    api.stream(text_events("ok"))
    start = time.monotonic()
    result = run(["generate", "hi"])
    assert 0.3 <= time.monotonic() - start < 10  # the config's retry_delay is 0.01
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == "gemini-cli: HTTP 429 RESOURCE_EXHAUSTED; retrying in 0.3s (attempt 2 of 5)\n"


def test_429_retries_spent_shows_the_message_once_with_the_details(api, sleeps):
    for _ in range(3):
        api.json(quota_429(retry_delay="2s"), status=429)
    result = run(["generate", "--retries", "2", "hi"])
    assert (result.exit_code, result.stdout) == (5, "")
    assert sleeps == [2.0, 2.0]
    assert result.stderr.splitlines() == [
        "gemini-cli: HTTP 429 RESOURCE_EXHAUSTED; retrying in 2.0s (attempt 2 of 3)",
        "gemini-cli: HTTP 429 RESOURCE_EXHAUSTED; retrying in 2.0s (attempt 3 of 3)",
        f"gemini-cli: error: HTTP 429 RESOURCE_EXHAUSTED: {QUOTA_LINE} (quota {PER_MINUTE}; help: {HELP_URL})",
    ]
    assert len(api.requests()) == 3


def test_429_retry_delay_past_max_time_exits_5_at_once(api, sleeps):
    api.json(quota_429(retry_delay="34s"), status=429)
    result = run(["generate", "--max-time", "5", "hi"])
    assert (result.exit_code, result.stdout, sleeps) == (5, "", [])
    assert result.stderr == (f"gemini-cli: error: HTTP 429 RESOURCE_EXHAUSTED: {QUOTA_LINE} (quota {PER_MINUTE}; "
                             f"help: {HELP_URL}); the API asked to wait 34s before retrying, more than is left of "
                             "--max-time: giving up\n")
    assert len(api.requests()) == 1


def test_429_retry_delay_over_the_cap_exits_5_at_once(api, sleeps):
    api.json(quota_429(retry_delay="90s"), status=429)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, sleeps) == (5, "", [])
    assert result.stderr.endswith("; the API asked to wait 90s before retrying, more than the 60s this tool waits: "
                                  "giving up\n")
    assert len(api.requests()) == 1


def test_retry_after_header_wins_over_retry_delay(api, sleeps):
    api.json(quota_429(retry_delay="34s"), status=429, headers={"Retry-After": "2"})
    api.stream(text_events("ok"))
    assert run(["generate", "hi"]).exit_code == 0
    assert sleeps == [2.0]


# -- the daily quota: not retried --------------------------------------------------------------------


def test_daily_quota_exits_5_after_one_request(api, sleeps):
    api.json(quota_429(quota_id=PER_DAY), status=429)
    api.stream(text_events("SHOULD NOT BE FETCHED"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, sleeps) == (5, "", [])
    assert result.stderr == (f"gemini-cli: error: HTTP 429 RESOURCE_EXHAUSTED: {QUOTA_LINE} (daily quota {PER_DAY} "
                             f"exhausted: not retried, it resets once a day; help: {HELP_URL})\n")
    assert len(api.requests()) == 1


def test_daily_quota_among_other_violations_is_named():
    body = quota_429(quota_id=PER_MINUTE)
    body["error"]["details"][0]["violations"].append({"quotaId": PER_DAY, "quotaValue": "250"})
    error = errors.api_error(429, "", {}, json.dumps(body).encode())
    assert (error.exit_code, error.retryable) == (ExitCode.RATE_LIMITED, False)
    assert error.message.endswith(f"(daily quota {PER_DAY} exhausted: not retried, it resets once a day; help: {HELP_URL})")


def test_interactions_quota_exceeded_code_is_the_daily_quota(api, sleeps):
    api.json({"error": {"code": "quota_exceeded", "message": "Daily quota exceeded."}}, status=429)
    result = run(["generate", "--no-stream", "hi"])
    assert (result.exit_code, result.stdout, sleeps) == (5, "", [])
    assert result.stderr == ("gemini-cli: error: HTTP 429 quota_exceeded: Daily quota exceeded. "
                             "(daily quota exhausted: not retried, it resets once a day)\n")
    assert len(api.requests()) == 1


def test_rate_limit_exceeded_code_is_retried(api, sleeps):
    api.json({"error": {"code": "rate_limit_exceeded", "message": "Slow down."}}, status=429)
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert len(sleeps) == 1 and sleeps[0] <= 0.01  # the backoff of the test config
    assert result.stderr == "gemini-cli: HTTP 429 rate_limit_exceeded; retrying in 0.0s (attempt 2 of 5)\n"


# -- SSE `error` events: the code picks the exit code; the partial turn is saved ----------------------


@pytest.mark.parametrize("code, exit_code", [
    ("authentication", 3), ("permission_denied", 3), ("rate_limit_exceeded", 5), ("quota_exceeded", 5),
    ("invalid_request", 4), ("parameter_unknown", 4), ("out_of_range", 4), ("payment_required", 4), ("not_found", 4),
    ("internal", 6), ("unavailable", 6), ("gateway_timeout", 6), ("RESOURCE_EXHAUSTED", 5), ("429", 5), (403, 3),
    ("something_new", 6),
])
def test_error_event_code_to_exit_code(api, home, code, exit_code):
    events = text_events("Hel", completed=False)
    events.append({"event_type": "error", "error": {"code": code, "message": "it broke"}})
    api.stream(events)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (exit_code, "Hel\n")
    assert result.stderr == f"gemini-cli: error: the API reported an error during the stream: {code}: it broke\n"
    assert len(api.requests()) == 1
    (saved,) = [path for path in (home / "conversations").glob("*.json") if not path.name.startswith(".")]
    (turn,) = json.loads(saved.read_text())["turns"]
    assert turn["status"] == "interrupted"
    assert turn["steps"][-1]["content"] == [{"type": "text", "text": "Hel"}]


@pytest.mark.parametrize("error, line", [
    ("a bare string", "error: a bare string"),
    ({"code": {"nested": 1}, "message": ["a", "list"]}, "error: no message"),
    ({"code": None, "message": 42}, "error: 42"),
    ({}, "error: the stream reported an error"),  # an empty object: the builder's own words
])
def test_malformed_error_event_exits_6_cleanly(api, error, line):
    events = text_events("Hel", completed=False)
    events.append({"event_type": "error", "error": error})
    api.stream(events)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (6, "Hel\n")
    assert result.stderr == f"gemini-cli: error: the API reported an error during the stream: {line}\n"


# -- waits are bounded -------------------------------------------------------------------------------


@pytest.mark.parametrize("status, api_status, exit_code", [(503, "UNAVAILABLE", 6), (429, "RESOURCE_EXHAUSTED", 5)])
@pytest.mark.parametrize("headers, asked", [
    ({"Retry-After": "86400"}, "24 h"),
    ({"retry-after-ms": "61000"}, "61s"),
    ({"Retry-After": "Wed, 01 Jan 2200 00:00:00 GMT"}, None),  # some 63,000 days from now
])
def test_a_wait_over_the_cap_gives_up_at_once(api, sleeps, status, api_status, exit_code, headers, asked):
    api.error(status, "busy", api_status, headers=headers)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, sleeps) == (exit_code, "", [])
    hint = " (rate limit or quota exhausted; try again later)" if status == 429 else ""
    start = f"gemini-cli: error: HTTP {status} {api_status}: busy{hint}; the API asked to wait "
    end = " before retrying, more than the 60s this tool waits: giving up\n"
    if asked:
        assert result.stderr == start + asked + end
    else:
        assert result.stderr.startswith(start) and result.stderr.endswith(" days" + end)
        assert result.stderr.count("\n") == 1
    assert len(api.requests()) == 1


@pytest.mark.parametrize("headers", [
    {"Retry-After": "1e400"}, {"Retry-After": "inf"}, {"Retry-After": "nan"}, {"Retry-After": "-inf"},
    {"retry-after-ms": "1e400"}, {"retry-after-ms": "nan"}, {"Retry-After": "Wed, 21 Oct 99999999999 07:28:00 GMT"},
])
def test_a_wait_that_is_not_a_finite_number_is_ignored(api, sleeps, headers):
    api.error(503, "busy", "UNAVAILABLE", headers=headers)
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert len(sleeps) == 1 and 0.0075 <= sleeps[0] <= 0.01  # the normal backoff (retry_delay 0.01 in the test config)
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == "gemini-cli: HTTP 503 UNAVAILABLE; retrying in 0.0s (attempt 2 of 5)\n"


def test_a_wait_at_the_cap_is_honoured(api, sleeps):
    api.error(503, "busy", "UNAVAILABLE", headers={"Retry-After": "60"})
    api.stream(text_events("ok"))
    assert run(["generate", "hi"]).exit_code == 0
    assert sleeps == [60.0]


# -- error bodies of any shape -------------------------------------------------------------------


@pytest.mark.parametrize("status, body, line", [
    (400, {"error": {"code": 400, "message": "bad", "status": ["INVALID", "ARGUMENT"]}}, "HTTP 400 BAD REQUEST: bad"),
    (400, {"error": {"code": {"value": 400}, "message": "bad"}}, "HTTP 400 BAD REQUEST: bad"),
    (404, {"error": {"code": 404, "message": 12345, "status": "NOT_FOUND"}}, "HTTP 404 NOT_FOUND: 12345"),
    (404, {"error": {"code": 404, "message": "gone", "status": 404}}, "HTTP 404 NOT FOUND: gone"),
    (429, {"error": {"code": 429, "message": "slow", "status": "RESOURCE_EXHAUSTED", "details": {"not": "a list"}}},
     "HTTP 429 RESOURCE_EXHAUSTED: slow (rate limit or quota exhausted; try again later)"),
    (429, {"error": {"code": 429, "message": "slow", "details": ["x", 1, None, {"@type": 5},
                                                                 {"@type": TYPE + "QuotaFailure", "violations": "no"},
                                                                 {"@type": TYPE + "RetryInfo", "retryDelay": 34}]}},
     "HTTP 429 TOO MANY REQUESTS: slow (rate limit or quota exhausted; try again later)"),
    (500, {"error": "just a string"}, "HTTP 500 INTERNAL SERVER ERROR: just a string"),
    (500, {"error": None}, "HTTP 500 INTERNAL SERVER ERROR"),
    (500, [1, 2, 3], "HTTP 500 INTERNAL SERVER ERROR"),
    (400, None, "HTTP 400 BAD REQUEST"),
])
def test_error_body_of_any_shape(api, status, body, line):
    for _ in range(5 if status in (429, 500) else 1):
        api.json(body, status=status)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (exit_code_for_status(status), "")
    assert result.stderr.splitlines()[-1] == f"gemini-cli: error: {line}"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("data, content_type, line", [
    ("[" * 100_000 + "]" * 100_000, "application/json", "HTTP 400 BAD REQUEST: (the body is JSON nested too deeply to read)"),
    ('{"error": {"message": "cut', "application/json", "HTTP 400 BAD REQUEST: (the body is not JSON: application/json)"),
    ("Bad Request", "text/plain", "HTTP 400 BAD REQUEST: (the body is not JSON: text/plain)"),
])
def test_error_body_that_cannot_be_read(api, data, content_type, line):
    api.server.expect_ordered_request("/v1beta/interactions").respond_with_data(data, status=400, content_type=content_type)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (4, "", f"gemini-cli: error: {line}\n")


# -- the pure functions ----------------------------------------------------------------------------


@pytest.mark.parametrize("headers, retry_delay, expected", [
    ({}, None, None),
    ({}, 33.47, 33.47),
    ({"Retry-After": "2"}, 33.47, 2.0),
    ({"retry-after-ms": "1500"}, 33.47, 1.5),
    ({"Retry-After": "inf"}, 5.0, 5.0),
    ({"Retry-After": "nan"}, None, None),
    ({"Retry-After": "1e400"}, None, None),
    ({"retry-after-ms": "-inf", "Retry-After": "3"}, None, 3.0),
    ({"Retry-After": "86400"}, None, 86400.0),
    ({"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}, None, 0.0),
    ({"Retry-After": "Sun, 99 Foo 2015 99:99:99 GMT"}, None, None),
])
def test_retry_after(headers, retry_delay, expected):
    assert errors.retry_after(httpx.Headers(headers), retry_delay) == expected


def test_retry_after_in_2200_is_finite_and_refused():
    wait = errors.retry_after(httpx.Headers({"Retry-After": "Wed, 01 Jan 2200 00:00:00 GMT"}))
    assert 5e9 < wait < 8e9
    error = errors.api_error(503, "Service Unavailable", {}, b"")
    refused = errors.wait_refused(error, wait, None)
    assert refused.exit_code == ExitCode.SERVER and not refused.retryable
    assert refused.message.startswith("HTTP 503 Service Unavailable: (empty body); the API asked to wait ")


@pytest.mark.parametrize("value, expected", [
    ("34s", 34.0), ("33.47s", 33.47), ("0s", 0.0), ("0.000000001s", 1e-9), ("-3s", 0.0), (" 5s ", 5.0),
    ({"seconds": 34, "nanos": 500000000}, 34.5), ("34", None), ("1e400s", None), ("infs", None), (34, None),
    (None, None), ([], None), ("s", None),
])
def test_retry_info_duration(value, expected):
    body = {"error": {"code": 429, "details": [{"@type": TYPE + "RetryInfo", "retryDelay": value}]}}
    assert errors.api_error(429, "", {}, json.dumps(body).encode()).retry_delay == expected


def test_wait_refused():
    error = errors.api_error(429, "", {}, json.dumps(quota_429()).encode())
    assert errors.wait_refused(error, 60.0, None) is None
    assert errors.wait_refused(error, 59.0, 59.5) is None
    assert errors.wait_refused(error, 59.0, 59.0).exit_code == ExitCode.RATE_LIMITED
    assert errors.wait_refused(error, 60.01, None).message.endswith(
        "; the API asked to wait 60.01s before retrying, more than the 60s this tool waits: giving up")


def test_details_are_kept_for_a_json_error_document():
    error = errors.api_error(429, "", {}, json.dumps(quota_429(quota_id=PER_DAY)).encode())
    assert error.info == {"retry_delay": 33.47, "quota_ids": [PER_DAY], "links": [HELP_URL]}
    assert error.details == quota_429(quota_id=PER_DAY)["error"]["details"]  # the raw list, for batch's limiter
    assert (error.retryable, error.exit_code, error.summary) == (False, ExitCode.RATE_LIMITED, "HTTP 429 RESOURCE_EXHAUSTED")
    assert errors.api_error(400, "", {}, json.dumps(key_refused()).encode()).info == {"reason": "API_KEY_INVALID"}
    assert (errors.api_error(500, "", {}, b"").info, errors.api_error(500, "", {}, b"").details) == ({}, [])


def test_key_source_unknown():
    error = errors.api_error(400, "", {}, json.dumps(key_refused()).encode())
    assert (error.exit_code, error.retryable) == (ExitCode.AUTH, False)
    assert error.message == f"HTTP 400 INVALID_ARGUMENT: {KEY_MESSAGE} (API_KEY_INVALID: the API refused the API key)"


def test_many_quota_ids_and_links_are_shown_up_to_three():
    violations = [{"quotaId": f"Q{n}PerMinute"} for n in range(5)] + [{"quotaId": "Q0PerMinute"}]
    links = [{"url": f"https://example.test/{n}"} for n in range(5)]
    body = {"error": {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": TYPE + "QuotaFailure", "violations": violations}, {"@type": TYPE + "Help", "links": links}]}}
    error = errors.api_error(429, "", {}, json.dumps(body).encode())
    assert error.retryable
    assert error.message == ("HTTP 429 RESOURCE_EXHAUSTED: m (quota Q0PerMinute, Q1PerMinute, Q2PerMinute; "
                             "help: https://example.test/0; help: https://example.test/1; help: https://example.test/2)")


@pytest.mark.parametrize("code, expected", [
    ("authentication", 3), ("PERMISSION_DENIED", 3), ("quota_exceeded", 5), ("payment_required", 4),
    ("gateway_timeout", 6), ("404", 4), (429, 5), (503, 6), (200, 6), (True, 6), (None, 6), ({"a": 1}, 6),
    ("²²²", 6), ("9" * 5000, 6), ("brand_new_code", 6),
])
def test_exit_code_for_api_code(code, expected):
    assert exit_code_for_api_code(code) == expected
