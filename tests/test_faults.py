"""Fault injection: a loopback server that refuses, rate-limits, fails, stalls, cuts streams
and sends bad bytes; each case checks the exit code, stdout, stderr and the saved conversation.

The server (fault_server.py) is a raw socket server, so a test can cut a chunked body
mid-way, reset the connection, or stall while the client resumes on a second connection.
"""

from __future__ import annotations

import io
import json
import time

import pytest

from conftest import INTERACTION_ID, USAGE, closed_port_url, run_checked, sse, text_events
from fault_server import error, reply, stream

PROMPT = "hi"
# Some text deltas carry no event_id, so a resumed stream must skip replayed id-less events.
EVENTS = text_events("Hel", "lo ", "wor", "ld")
for _event in EVENTS:
    if _event.get("event_id") in ("t1", "t2"):
        del _event["event_id"]
FRAMES = [sse([event], done=False).encode() for event in EVENTS]
DONE = b"event: done\ndata: [DONE]\n\n"


def resumed(end: str = "done", count: int | None = None):
    """A resumed GET: the events after the request's last_event_id (at most `count`)."""
    def answer(conn, request):
        ids = [event.get("event_id") for event in EVENTS]
        rest = FRAMES[ids.index(request.query["last_event_id"]) + 1:]
        if count is not None:
            rest = rest[:count]
        stream(rest + ([DONE] if count is None else []), end=end)(conn, request)
    return answer


@pytest.fixture
def server(fault_server):
    return fault_server


def saved(home) -> list[dict]:
    folder = home / "conversations"
    files = sorted(folder.glob("*.json")) if folder.exists() else []
    return [json.loads(path.read_text()) for path in files if not path.name.startswith(".")]


def the_turn(home) -> dict:
    (conversation,) = saved(home)
    (turn,) = conversation["turns"]
    assert turn["input"] == [{"type": "user_input", "content": [{"type": "text", "text": PROMPT}]}]
    return turn


def answer_steps(text: str) -> list[dict]:
    return [{"type": "thought", "signature": "c2lnbmF0dXJlLWJ5dGVz+/=="},
            {"type": "model_output", "content": [{"type": "text", "text": text}]}]


def assert_completed(home, text: str = "Hello world") -> None:
    turn = the_turn(home)
    assert (turn["interaction_id"], turn["status"], turn["steps"], turn["usage"]) == (
        INTERACTION_ID, "completed", answer_steps(text), USAGE)


# -- connections, rate limits, server errors (before any output: retried) -------------------


def test_connection_refused_exits_7_and_saves_nothing(home):
    url = closed_port_url()
    result = run_checked(["generate", "--base-url", url, "--retries", "2", PROMPT])
    assert (result.exit_code, result.stdout) == (7, "")
    lines = result.stderr.splitlines()
    assert len(lines) == 3 and "Connection refused" in lines[-1]
    assert lines[-1].startswith(f"gemini-cli: error: network error talking to {url}: ")
    assert saved(home) == []


def test_connection_closed_before_the_answer_is_retried(server, home):
    server.queue(lambda conn, request: None, stream(FRAMES + [DONE]))
    result = run_checked(["generate", "--retries", "1", PROMPT])
    assert (result.exit_code, result.stdout) == (0, "Hello world\n")
    assert "Server disconnected without sending a response" in result.stderr
    assert result.stderr.endswith("; retrying in 0.0s (attempt 2 of 2)\n")
    assert_completed(home)


def test_429_retry_after_is_honoured(server, home):
    server.queue(error(429, "quota", "RESOURCE_EXHAUSTED", {"Retry-After": "1"}), stream(FRAMES + [DONE]))
    start = time.monotonic()
    result = run_checked(["generate", "--retries", "2", PROMPT])
    assert time.monotonic() - start >= 0.95
    assert (result.exit_code, result.stdout) == (0, "Hello world\n")
    assert result.stderr == "gemini-cli: HTTP 429 RESOURCE_EXHAUSTED; retrying in 1.0s (attempt 2 of 3)\n"
    assert_completed(home)


def test_429_after_the_retries_exits_5(server, home):
    server.queue(*[error(429, "quota", "RESOURCE_EXHAUSTED", {"retry-after-ms": "10"})] * 3)
    result = run_checked(["generate", "--retries", "2", PROMPT])
    assert (result.exit_code, result.stdout) == (5, "")
    assert result.stderr.splitlines()[-1] == (
        "gemini-cli: error: HTTP 429 RESOURCE_EXHAUSTED: quota (rate limit or quota exhausted; try again later)")
    assert len(server.requests) == 3 and saved(home) == []


@pytest.mark.parametrize("failures, code", [(1, 0), (3, 0), (4, 6)])
def test_503_n_times_then_success(server, home, failures, code):
    server.queue(*[error(503, "overloaded", "UNAVAILABLE")] * failures, stream(FRAMES + [DONE]))
    result = run_checked(["generate", "--retries", "3", PROMPT])
    # The API's message is shown once, in the final error, not on every retry note.
    notes = [f"gemini-cli: HTTP 503 UNAVAILABLE; retrying in 0.0s (attempt {n + 2} of 4)" for n in range(3)]
    if code == 0:
        assert (result.exit_code, result.stdout, result.stderr.splitlines()) == (0, "Hello world\n", notes[:failures])
        assert_completed(home)
    else:
        assert (result.exit_code, result.stdout) == (6, "")
        assert result.stderr.splitlines() == notes + ["gemini-cli: error: HTTP 503 UNAVAILABLE: overloaded"]
        assert saved(home) == []
    assert [r.method for r in server.requests] == ["POST"] * min(failures + 1, 4)


def test_stall_before_the_answer_is_retried(server, home):
    def stall(conn, request):
        server.release.wait(10)

    server.queue(stall, stream(FRAMES + [DONE]))
    result = run_checked(["generate", "--timeout", "0.3", "--retries", "1", PROMPT])
    assert (result.exit_code, result.stdout) == (0, "Hello world\n")
    assert result.stderr.startswith("gemini-cli: request timed out (ReadTimeout) talking to ")
    assert_completed(home)


# -- dropped and stalled streams -------------------------------------------------------------


@pytest.mark.parametrize("end", ["eof", "reset"])
@pytest.mark.parametrize("k", range(1, len(EVENTS)))
def test_cut_after_k_events_is_resumed_without_gap_or_repeat(server, home, k, end):
    last_id = [e["event_id"] for e in EVENTS[:k] if e.get("event_id")][-1]
    half = FRAMES[k][: len(FRAMES[k]) // 2]  # the cut falls inside the next frame
    server.queue(stream(FRAMES[:k] + [half], end=end), resumed())
    result = run_checked(["generate", "--retries", "1", PROMPT])
    assert (result.exit_code, result.stdout) == (0, "Hello world\n")
    (note,) = result.stderr.splitlines()
    assert note.startswith("gemini-cli: the stream was cut off: ")
    assert note.endswith(f"; resuming after event {last_id} in 0.0s")
    post, get = server.requests
    assert (post.method, get.method, get.path) == ("POST", "GET", f"/v1beta/interactions/{INTERACTION_ID}")
    assert get.query == {"stream": "true", "last_event_id": last_id}
    assert get.headers["accept"] == "text/event-stream"
    assert_completed(home)


def test_cut_twice_is_resumed_twice(server, home):
    server.queue(stream(FRAMES[:4], end="eof"), resumed(end="eof", count=4), resumed())
    result = run_checked(["generate", "--retries", "2", "-o", "json", PROMPT])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["output_text"] == "Hello world"
    assert [r.query.get("last_event_id") for r in server.requests] == [None, "e2", "t0"]
    assert_completed(home)


def test_cut_before_any_event_id_exits_8(server, home):
    server.queue(stream([], end="eof"))
    result = run_checked(["generate", "--retries", "3", PROMPT])
    assert (result.exit_code, result.stdout) == (8, "")
    assert result.stderr.startswith("gemini-cli: error: the stream was cut off: ")
    assert len(server.requests) == 1 and saved(home) == []


def test_resume_budget_spent_exits_8_and_saves_the_partial_turn(server, home):
    server.queue(stream(FRAMES[:8], end="eof"), resumed(end="eof", count=0), resumed(end="reset", count=0))
    result = run_checked(["generate", "--retries", "2", PROMPT])
    assert (result.exit_code, result.stdout) == (8, "Hello \n")
    *notes, last = result.stderr.splitlines()
    assert len(notes) == 2 and all(n.endswith("; resuming after event t0 in 0.0s") for n in notes)
    assert last.startswith("gemini-cli: error: the stream was cut off: ")
    assert last.endswith(f" (the interaction may still finish: gemini-cli history fetch {INTERACTION_ID})")
    turn = the_turn(home)
    assert (turn["interaction_id"], turn["status"], turn["steps"]) == (INTERACTION_ID, "interrupted", answer_steps("Hello "))


def test_resume_refused_by_the_server_exits_8(server, home):
    server.queue(stream(FRAMES[:8], end="eof"), error(404, "no such interaction", "NOT_FOUND"))
    result = run_checked(["generate", "--retries", "1", PROMPT])
    assert (result.exit_code, result.stdout) == (8, "Hello \n")
    assert result.stderr.splitlines()[-1].startswith(
        "gemini-cli: error: resuming the stream failed: HTTP 404 NOT_FOUND: no such interaction")
    assert the_turn(home)["status"] == "interrupted"


@pytest.mark.parametrize("end", ["eof", "stall"])
def test_no_store_cannot_resume_exits_8_with_the_partial_turn(server, home, end):
    server.queue(stream(FRAMES[:8], end=end, server=server))
    result = run_checked(["generate", "--no-store", "--timeout", "0.3", "--retries", "3", PROMPT])
    assert (result.exit_code, result.stdout) == (8, "Hello \n")
    reason = "the stream was cut off: " if end == "eof" else "the stream stalled: no data within the read timeout"
    assert result.stderr.startswith(f"gemini-cli: error: {reason}")
    assert len(result.stderr.splitlines()) == 1 and "history fetch" not in result.stderr
    assert len(server.requests) == 1 and json.loads(server.requests[0].body)["store"] is False
    (conversation,) = saved(home)
    assert conversation["store"] is False
    turn = the_turn(home)
    assert (turn["interaction_id"], turn["status"], turn["steps"]) == (INTERACTION_ID, "interrupted", answer_steps("Hello "))


class Terminal(io.StringIO):
    """stdout and stderr as a terminal shows them: one screen, in the order written."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("markdown", [False, True])
def test_on_a_terminal_the_resuming_note_has_its_own_line_and_the_answer_goes_on_below(server, markdown):
    from gemini_cli.api.client import ApiClient
    from gemini_cli.render.output import Console, TextRenderer
    from gemini_cli.runs import turn

    server.queue(stream(FRAMES[:8]), resumed())  # "Hello " then a clean end before the interaction completed
    screen = Terminal()
    console = Console(stderr=screen)
    renderer = TextRenderer(console, stdout=screen, markdown=markdown)
    client = ApiClient(base_url=server.url, api_version="v1beta", api_key="k" * 20, retries=1, retry_delay=0.0,
                       note=console.note)
    try:
        outcome = turn.run(client, {"model": "m", "input": PROMPT, "stream": True}, renderer)
    finally:
        client.close()
    renderer.finish(outcome.result)
    assert outcome.error is None
    note = "gemini-cli: the stream ended before the interaction completed; resuming after event t0 in 0.0s\n"
    # --markdown holds an open line back until it ends, so the note comes before any of it.
    assert screen.getvalue() == (note + "Hello world\n" if markdown else "Hello \n" + note + "world\n")


def test_the_resuming_note_is_unchanged_when_stdout_is_not_a_terminal(server):
    from gemini_cli.api.client import ApiClient
    from gemini_cli.render.output import Console, TextRenderer
    from gemini_cli.runs import turn

    server.queue(stream(FRAMES[:8]), resumed())
    stdout, stderr = io.StringIO(), Terminal()
    console = Console(stderr=stderr)
    renderer = TextRenderer(console, stdout=stdout)
    client = ApiClient(base_url=server.url, api_version="v1beta", api_key="k" * 20, retries=1, retry_delay=0.0,
                       note=console.note)
    try:
        renderer.finish(turn.run(client, {"model": "m", "input": PROMPT, "stream": True}, renderer).result)
    finally:
        client.close()
    assert (stdout.getvalue(), stderr.getvalue()) == (
        "Hello world\n", "gemini-cli: the stream ended before the interaction completed; resuming after event t0 in 0.0s\n")


def test_stall_mid_stream_is_resumed(server, home):
    server.queue(stream(FRAMES[:8], end="stall", server=server), resumed())
    start = time.monotonic()
    result = run_checked(["generate", "--timeout", "0.3", "--retries", "1", PROMPT])
    assert time.monotonic() - start < 2
    assert (result.exit_code, result.stdout) == (0, "Hello world\n")
    assert result.stderr == ("gemini-cli: the stream stalled: no data within the read timeout; "
                             "resuming after event t0 in 0.0s\n")
    assert server.requests[1].query["last_event_id"] == "t0"
    assert_completed(home)


# -- bad bytes from the server ---------------------------------------------------------------


def test_malformed_json_event_is_skipped_with_a_warning(server, home):
    server.queue(stream(FRAMES[:7] + [b"event: step.delta\ndata: {not json\n\n"] + FRAMES[7:] + [DONE]))
    result = run_checked(["generate", PROMPT])
    assert (result.exit_code, result.stdout) == (0, "Hello world\n")
    assert result.stderr == "gemini-cli: warning: skipped a malformed event: '{not json'\n"
    assert_completed(home)


def test_unknown_event_and_delta_types_are_ignored_quietly(server, home):
    unknown = [{"event_type": "brand.new", "event_id": "n1", "x": [1]},
               {"event_type": "step.delta", "index": 1, "delta": {"type": "hologram", "z": 1}}]
    server.queue(stream(FRAMES[:7] + [sse(unknown, done=False).encode()] + FRAMES[7:] + [DONE]))
    result = run_checked(["generate", PROMPT])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello world\n", "")
    turn = the_turn(home)
    assert turn["status"] == "completed" and "unknown_deltas" not in turn["steps"][1]
    # a delta type we do not know on a model_output step is a block of its own, kept whole
    assert {"type": "hologram", "z": 1} in turn["steps"][1]["content"] and "unplaced_deltas" not in turn


def test_a_huge_event(server, home):
    big = "é" * 1_000_000 + "x" * 3_000_000  # 5 MB of UTF-8 in one event
    events = text_events("<", big, ">")
    body = sse(events).encode()
    server.queue(stream([body[i:i + 65536] for i in range(0, len(body), 65536)]))
    start = time.monotonic()
    result = run_checked(["generate", PROMPT])
    assert time.monotonic() - start < 5
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"<{big}>\n", "")
    assert the_turn(home)["steps"][1]["content"][0]["text"] == f"<{big}>"


def test_non_utf8_bytes(server, home):
    bad_text = FRAMES[6].replace(b'"Hel"', b'"H\xffl"')
    assert bad_text != FRAMES[6]
    server.queue(stream(FRAMES[:6] + [bad_text, b"data: \xfe\xff\n\n"] + FRAMES[7:] + [DONE]))
    result = run_checked(["generate", PROMPT])
    # Invalid UTF-8 becomes U+FFFD (as the event-stream rules say); a frame that is not JSON is skipped.
    assert (result.exit_code, result.stdout) == (0, "H\ufffdllo world\n")
    assert result.stderr == "gemini-cli: warning: skipped a malformed event: '\ufffd\ufffd'\n"
    assert_completed(home, "H\ufffdllo world")


def test_non_utf8_json_body_exits_6(server, home):
    server.queue(reply(200, b'{"id": "v1_x", "status": "completed", "steps": [], "t": "caf\xe9"}'))
    result = run_checked(["generate", "--no-stream", PROMPT])
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr == "gemini-cli: error: HTTP 200: the API sent a body that is not JSON (application/json)\n"
    assert saved(home) == []


PAGE = b"<!DOCTYPE html><html><body><h1>Server Error</h1></body></html>"


@pytest.mark.parametrize("status, label", [(502, "502 Bad Gateway"), (500, "500 Internal Server Error")])
def test_html_error_page_exits_6(server, home, status, label):
    server.queue(*[reply(status, PAGE, "text/html; charset=utf-8")] * 2)
    result = run_checked(["generate", "--retries", "1", PROMPT])
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr.splitlines()[-1] == f"gemini-cli: error: HTTP {label}: (the body is not JSON: text/html)"
    assert "Traceback" not in result.stderr and len(server.requests) == 2 and saved(home) == []


@pytest.mark.parametrize("flag", ["--stream", "--no-stream"])
def test_html_page_with_status_200_exits_6(server, home, flag):
    server.queue(reply(200, PAGE, "text/html"))
    result = run_checked(["generate", flag, PROMPT])
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr == "gemini-cli: error: HTTP 200: the API sent a body that is not JSON (text/html)\n"
    assert len(server.requests) == 1 and saved(home) == []


@pytest.mark.parametrize("content_type, code, message", [
    ("text/event-stream", 8, "the stream ended before the interaction completed"),
    ("application/json", 6, "HTTP 200: the API sent an empty body"),
    (None, 6, "HTTP 200: the API sent an empty body"),
])
def test_empty_200(server, home, content_type, code, message):
    server.queue(reply(200, b"", content_type))
    result = run_checked(["generate", PROMPT])
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", f"gemini-cli: error: {message}\n")
    assert saved(home) == []


@pytest.mark.parametrize("code, exit_code", [("gateway_timeout", 6), ("resource_exhausted", 5), ("invalid_argument", 4)])
def test_error_event_exits_with_its_code_and_saves_the_partial_turn(server, home, code, exit_code):
    error_event = {"event_type": "error", "error": {"code": code, "message": "it broke"}}
    server.queue(stream(FRAMES[:8] + [sse([error_event], done=False).encode()] + FRAMES[8:] + [DONE]))
    result = run_checked(["generate", "--retries", "2", PROMPT])
    assert (result.exit_code, result.stdout) == (exit_code, "Hello \n")
    assert result.stderr == f"gemini-cli: error: the API reported an error during the stream: {code}: it broke\n"
    assert len(server.requests) == 1
    turn = the_turn(home)
    assert (turn["status"], turn["steps"]) == ("interrupted", answer_steps("Hello "))


# -- regressions found by this suite -----------------------------------------------------------


def test_a_later_hop_is_never_resumed_with_an_earlier_hops_event_id(server, home):
    # Event ids belong to one interaction: hop 2 (cut before sending any id) must not be
    # resumed with hop 1's last id, which could skip or repeat hop 2's events.
    hop1 = text_events("Hel", "lo", status="requires_continuation", extra={"continuation_token": "tok1"})
    hop2 = [{"event_type": "interaction.created", "interaction": {"id": "v1_hop2", "status": "in_progress"}},
            {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
            {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": " world"}}]
    server.queue(stream([sse(hop1).encode()]), stream([sse(hop2, done=False).encode()], end="eof"))
    result = run_checked(["generate", "--retries", "2", PROMPT])
    assert (result.exit_code, result.stdout) == (8, "Hello world\n")
    assert result.stderr.startswith("gemini-cli: error: the stream was cut off: ")
    assert [r.method for r in server.requests] == ["POST", "POST"]
    assert json.loads(server.requests[1].body)["continuation_token"] == "tok1"
    turn = the_turn(home)
    assert (turn["interaction_id"], turn["status"]) == ("v1_hop2", "interrupted")
    assert [s["content"][0]["text"] for s in turn["steps"] if s["type"] == "model_output"] == ["Hello", " world"]


def test_resuming_never_waits_past_max_time(server, home):
    (home / "config.yaml").write_text("retry_delay: 5\n")
    server.queue(stream(FRAMES[:8], end="eof"), resumed())
    start = time.monotonic()
    result = run_checked(["generate", "--max-time", "1", PROMPT])
    assert time.monotonic() - start < 1
    assert (result.exit_code, result.stdout) == (8, "Hello \n")
    assert result.stderr.startswith("gemini-cli: error: the stream was cut off: ")
    assert len(server.requests) == 1
    assert the_turn(home)["status"] == "interrupted"


def test_a_stall_after_interaction_completed_costs_nothing(server, home):
    server.queue(stream(FRAMES, end="stall", server=server))  # no [DONE], then silence
    start = time.monotonic()
    result = run_checked(["generate", "--timeout", "5", PROMPT])
    assert time.monotonic() - start < 2
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello world\n", "")
    assert len(server.requests) == 1
    assert_completed(home)
