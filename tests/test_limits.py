"""Hostile servers meet limits, not the tool's patience or memory (through the CLI, on loopback).

(a) --max-time is a wall-clock deadline whatever the server does: a trickle of SSE comments,
    headers sent a byte at a time, a line that never ends. Exit 7, the message names --max-time.
(b) A create is never sent twice once the server answered 200: a --no-stream body that stalls
    or is shorter than its Content-Length exits 7 after one POST.
(c) Memory is bounded by limits: an event without an end stops at 16 MiB (exit 6, peak RSS
    measured in a subprocess), a gzip bomb in a JSON body at 64 MiB, in an error body at 1 MiB.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import run_checked
from fault_server import bomb, endless, short_body, slow_head, trickle

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = "gemini-cli: error: gave up: the --max-time deadline of 1.5s was reached\n"


@pytest.fixture
def server(fault_server):
    return fault_server


def timed(args: list[str]):
    start = time.monotonic()
    result = run_checked(args)
    return result, time.monotonic() - start


# -- (a) --max-time against trickles -------------------------------------------------------------


def test_max_time_holds_against_a_trickle_of_comments(server):
    server.queue(trickle(b": keep-alive\n\n", 0.3, server))
    result, took = timed(["generate", "--max-time", "1.5", "--timeout", "60", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (7, "", DEADLINE)
    assert 1.4 < took < 3.5  # the trickle alone would never end
    assert len(server.requests) == 1


def test_max_time_holds_against_headers_sent_a_byte_at_a_time(server):
    server.queue(slow_head(0.2, server))
    result, took = timed(["generate", "--max-time", "1.5", "--timeout", "60", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (7, "", DEADLINE)
    assert 1.4 < took < 3.5  # the trickle alone would never end
    assert len(server.requests) == 1


def test_max_time_holds_against_a_line_that_never_ends(server):
    server.queue(trickle(b"x", 0.2, server, first=b"data: "))
    result, took = timed(["generate", "--max-time", "1.5", "--timeout", "60", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (7, "", DEADLINE)
    assert 1.4 < took < 3.5  # the trickle alone would never end


def test_max_time_holds_against_a_no_stream_body_that_trickles(server):
    body = b'{"id": "v1_x", "status": "completed"}' + b" " * 100
    server.queue(short_body(body[:8], len(body), end="stall", server=server))
    result, took = timed(["generate", "--no-stream", "--max-time", "1.5", "--timeout", "60", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (7, "", DEADLINE)
    assert 1.4 < took < 3.5  # the trickle alone would never end
    assert len(server.requests) == 1


# -- (b) never sent twice once answered ----------------------------------------------------------


def test_a_no_stream_body_that_stalls_is_not_sent_again(server):
    server.queue(short_body(b'{"id": "v1_x"', 1000, end="stall", server=server))
    result, took = timed(["generate", "--no-stream", "--timeout", "0.5", "hi"])
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr == ("gemini-cli: error: the answer stalled: no data for 0.5s (--timeout) while reading its body; "
                             "not sent again, as the server had answered\n")
    assert [request.method for request in server.requests] == ["POST"]
    assert took < 3


def test_a_no_stream_body_shorter_than_its_content_length_is_not_sent_again(server):
    server.queue(short_body(b'{"id": "v1_x"', 1000))
    result = run_checked(["generate", "--no-stream", "hi"])
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr == (
        "gemini-cli: error: the connection broke while reading the answer (peer closed connection without sending "
        "complete message body (received 13 bytes, expected 1000)); not sent again, as the server had answered\n")
    assert [request.method for request in server.requests] == ["POST"]


# -- (c) memory bounded by limits ----------------------------------------------------------------


def run_measured(args: list[str]) -> tuple[int, str, str, float]:
    """Run the CLI in a subprocess; (exit code, stdout, stderr, its peak RSS in MiB): VmHWM, as
    test_hostile.cli reads it (wait4's ru_maxrss would count the forked test process's pages,
    which an earlier test of the run may have grown)."""
    from test_hostile import cli

    return cli(args)


def test_an_endless_line_stops_at_the_event_size_limit_with_bounded_memory(server):
    server.queue(endless(b"data: ", b"x" * 65536))
    code, out, err, peak = run_measured(["generate", "hi"])
    assert (code, out) == (6, "")
    assert err == "gemini-cli: error: the stream sent an event larger than 16 MiB without ending it; stopped reading\n"
    print(f"peak RSS for an endless line: {peak:.0f} MiB")
    assert peak < 160  # the 16 MiB limit, twice over for decoding, on top of the interpreter and httpx


def test_a_gzip_bomb_in_a_json_body_stops_at_64_mib(server):
    server.queue(bomb(200, 1024 << 20))  # 1 GiB of spaces, about 1 MB on the wire
    code, out, err, peak = run_measured(["generate", "--no-stream", "hi"])
    assert (code, out) == (6, "")
    assert err == "gemini-cli: error: HTTP 200: the API sent a body larger than 64 MiB; stopped reading it\n"
    print(f"peak RSS for a gzip bomb in a JSON body: {peak:.0f} MiB")
    assert peak < 250
    assert len(server.requests) == 1


def test_a_gzip_bomb_in_an_error_body_stops_at_1_mib(server):
    server.queue(bomb(500, 64 << 20))
    result = run_checked(["generate", "--retries", "0", "hi"])
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr == "gemini-cli: error: HTTP 500 Internal Server Error: (an error body larger than 1 MiB; not read)\n"


def test_a_gzip_bomb_in_an_event_stream_stops_at_the_event_size_limit(server):
    server.queue(bomb(200, 256 << 20, content_type="text/event-stream"))
    result = run_checked(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr == "gemini-cli: error: the stream sent an event larger than 16 MiB without ending it; stopped reading\n"


def test_an_endless_event_after_some_text_keeps_the_text_and_saves_the_partial_turn(server, home):
    import json

    from conftest import sse, text_events

    events = text_events("Hel", "lo")
    split = len(events) - 2  # before the answer's step.stop
    server.queue(endless(sse(events[:split], done=False).encode() + b"data: ", b"y" * 65536))
    result = run_checked(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (6, "Hello\n")
    assert result.stderr == "gemini-cli: error: the stream sent an event larger than 16 MiB without ending it; stopped reading\n"
    (path,) = [p for p in (home / "conversations").glob("*.json") if not p.name.startswith(".")]
    (turn,) = json.loads(path.read_text())["turns"]
    assert turn["status"] == "interrupted"
    assert turn["steps"][-1]["content"] == [{"type": "text", "text": "Hello"}]
