"""`gemini-cli batch` against tests/batch_server.py (a threaded loopback API): input formats,
exact records, request bodies, bad rows, exit codes, ordering and resume, adaptive
concurrency on 429, and Ctrl-C through a real process. The limiter is unit-tested too.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batch_server import BatchServer, interaction_for, rate_limit_error
from conftest import run_checked as run
from gemini_cli.errors import ApiError
from gemini_cli.runs.limiter import Limiter

SUMMARY = re.compile(r"gemini-cli: batch: (\d+) completed, (\d+) failed(, (\d+) skipped \(already completed in \S+\))? "
                     r"in \d+:\d\d(, [\d.]+ rows/s)?\n")


@pytest.fixture
def server(monkeypatch):
    servers = []

    def start(**options) -> BatchServer:
        srv = BatchServer(**options)
        servers.append(srv)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", srv.url)
        return srv

    yield start
    for srv in servers:
        srv.close()


def records(text: str) -> list[dict]:
    lines = text.splitlines(keepends=True)
    assert all(line.endswith("\n") for line in lines)
    return [json.loads(line) for line in lines]


def done(id, line, text, number, **extra) -> dict:
    """The record of a completed row, as batch_server answers."""
    return {"id": id, "line": line, "status": "completed", "output_text": f"echo: {text}",
            "interaction_id": f"v1_{number}", "usage": {"total_tokens": 3}, **extra}


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- input formats and exact output ------------------------------------------------------


def test_jsonl_objects_and_strings_in_order_with_exact_records(server, tmp_path):
    srv = server()
    source = write(tmp_path / "rows.jsonl", '{"id": "a", "prompt": "one"}\n\n"two"\n{"prompt": "three", "label": "x"}\n')
    result = run(["batch", source, "-j", "1"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [
        done("a", 1, "one", 1), done(3, 3, "two", 2), done(4, 4, "three", 3)])
    assert SUMMARY.fullmatch(result.stderr).group(1, 2) == ("3", "0")
    assert srv.bodies == [{"model": "gemini-3-flash-preview", "input": text} for text in ("one", "two", "three")]


def test_lines_format_from_stdin(server):
    server()
    result = run(["batch", "--format", "lines", "-j", "1", "-q"], input="first\n\nsecond line\r\n")
    assert result.exit_code == 0
    assert records(result.stdout) == [done(1, 1, "first", 1), done(3, 3, "second line", 2)]
    assert result.stderr == ""


def test_csv_with_prompt_and_id_columns(server, tmp_path):
    srv = server()
    source = write(tmp_path / "t.csv", 'key,text,lang\nk1,"Hello, world",fr\nk2,"two\nlines",de\n')
    result = run(["batch", source, "--prompt-column", "text", "--id-column", "key", "-j", "1", "-q"])
    assert result.exit_code == 0, result.stderr
    assert records(result.stdout) == [done("k1", 2, "Hello, world", 1), done("k2", 3, "two\nlines", 2)]
    assert [b["input"] for b in srv.bodies] == ["Hello, world", "two\nlines"]


def test_csv_columns_fill_a_template_and_rows_without_id_get_their_line(server, tmp_path, home):
    srv = server()
    (home / "templates").mkdir()
    (home / "templates" / "tr.yaml").write_text("system: Translate into {lang}.\nprompt: 'Text: {input}'\ndefaults:\n  lang: English\n")
    source = write(tmp_path / "t.csv", "prompt,lang\nbonjour,German\nhola,Italian\n")
    result = run(["batch", source, "-t", "tr", "-j", "1", "-q"])
    assert result.exit_code == 0, result.stderr
    assert [(r["id"], r["line"]) for r in records(result.stdout)] == [(2, 2), (3, 3)]
    assert srv.bodies == [
        {"model": "gemini-3-flash-preview", "input": "Text: bonjour", "system_instruction": "Translate into German."},
        {"model": "gemini-3-flash-preview", "input": "Text: hola", "system_instruction": "Translate into Italian."},
    ]


def test_generation_flags_are_the_defaults_and_rows_override_them(server, tmp_path):
    srv = server()
    source = write(tmp_path / "r.jsonl", '"plain"\n{"prompt": "own", "model": "pro", "system": "Row system.", "temperature": 0.9, "seed": 7}\n')
    result = run(["batch", source, "-j", "1", "-q", "-m", "flash-lite", "-s", "Be terse.", "--temperature", "0.2",
                  "--max-tokens", "50", "--no-store"])
    assert result.exit_code == 0, result.stderr
    assert srv.bodies[0] == {
        "model": "gemini-3.1-flash-lite", "system_instruction": "Be terse.", "store": False,
        "generation_config": {"temperature": 0.2, "max_output_tokens": 50},
        "input": [{"type": "user_input", "content": [{"type": "text", "text": "plain"}]}],
    }
    assert srv.bodies[1]["model"] == "gemini-3.1-pro-preview"
    assert srv.bodies[1]["system_instruction"] == "Row system."
    assert srv.bodies[1]["generation_config"] == {"temperature": 0.9, "seed": 7, "max_output_tokens": 50}
    assert "stream" not in srv.bodies[0]  # one non-streamed create per row


def test_attachments_per_row(server, tmp_path):
    srv = server()
    (tmp_path / "note.txt").write_text("attached text")
    source = write(tmp_path / "r.jsonl", json.dumps({"prompt": "read", "attach": [str(tmp_path / "note.txt")]}) + "\n")
    result = run(["batch", source, "-q"])
    assert result.exit_code == 0, result.stderr
    [step] = srv.bodies[0]["input"]  # one user_input step, as the SDK sends a content list
    blocks = step["content"]
    assert (step["type"], blocks[-1]) == ("user_input", {"type": "text", "text": "read"})
    assert "attached text" in json.dumps(blocks)


# -- bad rows and exit codes -------------------------------------------------------------


def test_bad_rows_are_recorded_as_failed_and_the_others_run(server, tmp_path, home):
    srv = server()
    (home / "templates").mkdir()
    (home / "templates" / "t.yaml").write_text("prompt: '{input} in {lang}'\n")
    source = write(tmp_path / "r.jsonl", "\n".join([
        '{"prompt": "ok", "params": {"lang": "fr"}}',
        "{not json",
        '{"prompt": "x", "params": {"lang": "de"}, "attach": ["/nonexistent/file.png"]}',
        '{"prompt": "no lang"}',
        '{"prompt": 5}',
        '[1, 2]',
        '{"prompt": "hot", "params": {"lang": "es"}, "temperature": 3}',
    ]) + "\n")
    result = run(["batch", source, "-t", "t", "--ordered"])
    assert result.exit_code == 11
    out = records(result.stdout)
    assert out[0] == done(1, 1, "ok in fr", 1)
    failed = [(r["id"], r["status"], r["error"]["code"], r["error"]["exit_code"], r["error"]["message"]) for r in out[1:]]
    assert failed == [
        (2, "failed", "usage", 2, "line 2: not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (3, "failed", "usage", 2, "/nonexistent/file.png: no such file"),
        (4, "failed", "usage", 2, "template 't' needs parameter 'lang': give it with -p lang VALUE "
                                  "or the row (a CSV column, or JSONL \"params\")"),
        (5, "failed", "usage", 2, "line 5: 'prompt' must be a string"),
        (6, "failed", "usage", 2, "line 6: a row must be a JSON object or string"),
        (7, "failed", "usage", 2, "line 7: 'temperature' must be between 0 and 2, got 3"),
    ]
    assert len(srv.bodies) == 1
    assert result.stderr.endswith("gemini-cli: error: 6 of 7 rows failed (each failure is recorded in the output)\n")


def test_an_incomplete_answer_is_a_failed_row_with_what_arrived(server, tmp_path):
    def answer(body):
        hop = interaction_for(body, 1)
        return (200, {**hop, "status": "incomplete"}) if body["input"] == "long" else None

    server(answer=answer)
    result = run(["batch", "--format", "lines", "-j", "1", "-q"], input="long\nshort\n")
    assert result.exit_code == 11
    first = records(result.stdout)[0]
    assert first["status"] == "failed" and first["output_text"] == "echo: long"
    assert first["error"]["code"] == "not_completed" and first["error"]["exit_code"] == 9


def test_a_transient_failure_is_retried(server, tmp_path):
    seen = set()

    def answer(body):
        if body["input"] not in seen:
            seen.add(body["input"])
            return 503, {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}
        return None

    srv = server(answer=answer)
    result = run(["batch", "--format", "lines", "-j", "1"], input="a\nb\n")
    assert result.exit_code == 0, result.stderr
    assert [r["status"] for r in records(result.stdout)] == ["completed", "completed"]
    assert srv.count == 4
    assert "gemini-cli: row 1: HTTP 503 UNAVAILABLE: overloaded; retrying in" in result.stderr


def test_retries_spent_fails_the_row_with_its_exit_code(server):
    server(answer=lambda body: (500, {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}))
    result = run(["batch", "--format", "lines", "--retries", "0", "-q"], input="a\n")
    assert result.exit_code == 11
    assert records(result.stdout)[0]["error"] == {"code": "server", "message": "HTTP 500 INTERNAL: boom",
                                                 "exit_code": 6, "http_status": 500}


def test_an_authentication_error_stops_the_whole_batch_with_exit_3(server):
    srv = server(answer=lambda body: (401, {"error": {"code": 401, "message": "bad key", "status": "UNAUTHENTICATED"}}))
    result = run(["batch", "--format", "lines", "-j", "1"], input="".join(f"{n}\n" for n in range(20)))
    assert result.exit_code == 3
    assert result.stdout == ""  # nothing is recorded: every row runs again next time
    assert srv.count == 1
    assert result.stderr.endswith("gemini-cli: error: batch stopped: HTTP 401 UNAUTHENTICATED: bad key (check GEMINI_API_KEY)\n")


def test_a_daily_quota_stops_the_whole_batch_with_exit_5(server, tmp_path):
    def answer(body):
        if body["input"] == "3":
            return 429, rate_limit_error("20s", quota_id="GenerateRequestsPerDayPerProjectPerModel-FreeTier")
        return None

    server(answer=answer)
    out = tmp_path / "out.jsonl"
    result = run(["batch", "--format", "lines", "-j", "1", "-o", str(out)], input="1\n2\n3\n4\n5\n")
    assert result.exit_code == 5
    assert [r["id"] for r in records(out.read_text())] == [1, 2]
    assert "batch stopped: HTTP 429 RESOURCE_EXHAUSTED: Resource has been exhausted" in result.stderr
    assert "[daily quota]" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["batch", "/nonexistent/rows.jsonl"], "cannot read INPUT /nonexistent/rows.jsonl: No such file or directory"),
    (["batch", "--format", "csv", "--prompt-column", "text"], "the CSV has no column 'text' (--prompt-column); its columns: a, b"),
    (["batch", "--format", "csv"], "the CSV has no column 'prompt' (--prompt-column); its columns: a, b"),
    (["batch", "--format", "csv", "--prompt-column", "a", "--id-column", "key"], "the CSV has no column 'key' (--id-column); its columns: a, b"),
    (["batch", "--schema", "{not json"], None),
])
def test_usage_errors_exit_2_before_anything_is_sent(server, args, message):
    srv = server()
    result = run(args, input="a,b\n1,2\n")
    assert result.exit_code == 2
    if message:
        assert result.stderr == f"gemini-cli: error: {message}\n"
    assert srv.count == 0


def test_jobs_out_of_range_is_a_usage_error(server):
    assert run(["batch", "-j", "0"], input="x\n").exit_code == 2


# -- ordering, resume, restart ---------------------------------------------------------


def test_ordered_writes_in_input_order_although_the_first_row_is_slowest(server):
    def answer(body):
        if body["input"] == "slow":
            time.sleep(0.4)
        return None

    server(answer=answer)
    rows = "slow\n" + "".join(f"fast{n}\n" for n in range(5))
    unordered = run(["batch", "--format", "lines", "-j", "4", "-q"], input=rows)
    assert [r["id"] for r in records(unordered.stdout)][-1] == 1  # as rows finish: the slow one last
    ordered = run(["batch", "--format", "lines", "-j", "4", "-q", "--ordered"], input=rows)
    assert [r["id"] for r in records(ordered.stdout)] == [1, 2, 3, 4, 5, 6]


def test_resume_skips_completed_rows_redoes_failed_ones_and_drops_a_torn_line(server, tmp_path):
    srv = server()
    source = write(tmp_path / "rows.txt", "a\nb\nc\nd\n")
    out = tmp_path / "out.jsonl"
    out.write_text(
        json.dumps(done(1, 1, "a", 90)) + "\n"
        + json.dumps({"id": 2, "line": 2, "status": "failed", "error": {"code": "server", "message": "x", "exit_code": 6}}) + "\n"
        + json.dumps(done(3, 3, "c", 91)) + "\n"
        + '{"id": 4, "line": 4, "status": "comp'  # torn by a crash
    )
    result = run(["batch", "--format", "lines", source, "-o", str(out), "-j", "1"])
    assert result.exit_code == 0, result.stderr
    assert [b["input"] for b in srv.bodies] == ["b", "d"]
    assert records(out.read_text()) == [done(1, 1, "a", 90), done(3, 3, "c", 91), done(2, 2, "b", 1), done(4, 4, "d", 2)]
    assert SUMMARY.fullmatch(result.stderr).group(1, 2, 4) == ("2", "0", "2")
    again = run(["batch", "--format", "lines", source, "-o", str(out)])  # nothing left to do
    assert again.exit_code == 0 and srv.count == 2
    restarted = run(["batch", "--format", "lines", source, "-o", str(out), "--restart", "-q"])
    assert restarted.exit_code == 0 and srv.count == 6
    assert [r["id"] for r in records(out.read_text())] != [] and len(records(out.read_text())) == 4


def test_output_is_not_input(server, tmp_path):
    source = write(tmp_path / "rows.jsonl", '"a"\n')
    result = run(["batch", source, "-o", source])
    assert result.exit_code == 2
    assert "is INPUT" in result.stderr


def test_dry_run_prints_the_first_request_and_the_row_count(server, tmp_path):
    srv = server()
    source = write(tmp_path / "rows.jsonl", 'bad\n{"id": "x", "prompt": "first"}\n"second"\n"third"\n')
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps(done(4, 4, "third", 1)) + "\n")
    result = run(["batch", source, "-o", str(out), "--dry-run", "--temperature", "0.5"])
    assert result.exit_code == 0
    assert result.stdout.endswith(
        '{\n  "model": "gemini-3-flash-preview",\n  "input": "first",\n  "generation_config": {\n    "temperature": 0.5\n  }\n}\n'
        "\n2 rows to send, 1 already completed in " + str(out) + ", 1 bad (recorded as failed when run)\n")
    assert result.stdout.startswith(f"POST {srv.url}/v1beta/interactions\n")
    assert srv.count == 0


# -- conversations ----------------------------------------------------------------------


def conversations(home: Path) -> list[Path]:
    return [p for p in (home / "conversations").glob("c*.json")] if (home / "conversations").exists() else []


def test_rows_are_saved_as_conversations_only_with_save(server, home):
    server()
    assert run(["batch", "--format", "lines", "-q"], input="a\nb\n").exit_code == 0
    assert conversations(home) == []
    result = run(["batch", "--format", "lines", "-q", "--save", "-j", "1"], input="a\nb\n")
    assert result.exit_code == 0
    saved = conversations(home)
    assert len(saved) == 2
    assert {r["conversation"]["path"] for r in records(result.stdout)} == {str(p) for p in saved}


# -- adaptive concurrency -------------------------------------------------------------------


def test_429_above_a_concurrency_limit_lowers_the_concurrency_and_every_row_completes(server):
    srv = server(limit=2, latency=0.05)
    rows = "".join(f"{n}\n" for n in range(40))
    result = run(["batch", "--format", "lines", "-j", "8"], input=rows)
    assert result.exit_code == 0, result.stderr
    assert sorted(r["id"] for r in records(result.stdout)) == list(range(1, 41))
    assert "gemini-cli: rate limited (HTTP 429): 4 requests in flight now\n" in result.stderr
    assert "gemini-cli: rate limited (HTTP 429): 2 requests in flight now\n" in result.stderr
    # Without adaptation every round of 8 would draw six 429s (about 120 for 40 rows).
    assert 0 < srv.throttled < 30


def test_retry_info_delays_the_refused_row(server):
    srv = server(limit=1, retry_delay="0.5s", latency=0.1)
    started = time.monotonic()
    result = run(["batch", "--format", "lines", "-j", "3"], input="a\nb\nc\n")
    assert result.exit_code == 0, result.stderr
    assert time.monotonic() - started >= 0.5  # a refused row is sent again only after the wait
    assert sorted(r["line"] for r in records(result.stdout)) == [1, 2, 3]
    assert srv.throttled >= 1


def test_a_wait_far_too_long_stops_the_batch_with_exit_5(server):
    server(limit=0, retry_delay="3600s")
    result = run(["batch", "--format", "lines"], input="a\n")
    assert result.exit_code == 5
    assert "[the server asks to wait 3600s]" in result.stderr


def test_limiter_halves_once_per_round_trip_and_climbs_back():
    limiter = Limiter(8, clock=lambda: 0.0)
    epoch = limiter.epoch
    assert limiter.throttled(epoch) is True and limiter.slots == 4
    assert limiter.throttled(epoch) is False and limiter.slots == 4  # same round trip: counted once
    assert limiter.throttled(limiter.epoch) is True and limiter.slots == 2
    limiter.throttled(limiter.epoch)
    limiter.throttled(limiter.epoch)
    assert limiter.slots == 1  # never below one
    seen = []
    for _ in range(300):
        limiter.answered(limiter.slots)
        seen.append(limiter.slots)
    assert seen == sorted(seen) and seen[-1] == 8  # up again, never above -j


def test_limiter_keeps_the_servers_wait_to_the_refused_request_until_the_window_is_one():
    now = [0.0]
    limiter = Limiter(16, clock=lambda: now[0])
    slots = []
    while limiter.slots > 1:
        assert limiter.throttled(limiter.epoch, wait=1.0) is True
        assert limiter.pause_left() == 0.0 and not limiter.pausing  # "fewer at once", not "stop"
        slots.append(limiter.slots)
    assert slots == [8, 4, 2, 1]
    assert limiter.throttled(limiter.epoch, wait=1.0) is True  # one at a time, still refused: a quota
    assert limiter.pause_left() == 1.0 and limiter.pausing
    now[0] = 1.5
    assert limiter.pause_left() == 0.0


def test_limiter_at_a_concurrency_limit_goes_back_to_what_was_answered_and_probes_rarely():
    limiter = Limiter(16, clock=lambda: 0.0)
    limiter.limit = 4.0
    for _ in range(3):
        limiter.answered(3)  # three at once were served; the probe at a fourth is refused
    assert limiter.throttled(limiter.epoch) is True and limiter.slots == 3  # not 2: three were answered
    rounds = 0
    while limiter.slots == 3:
        for _ in range(3):
            limiter.answered(3)
        rounds += 1
    assert rounds == 2  # past the level of the 429, the next probe waits two round trips, not one


def test_what_a_429_says_about_waiting():
    import httpx

    from gemini_cli.api.client import api_error

    error = api_error(httpx.Response(429, json=rate_limit_error("34.5s")))
    assert error.server_wait == 34.5
    assert api_error(httpx.Response(429, json=rate_limit_error("34.5s"), headers={"retry-after": "2"})).server_wait == 2.0
    assert error.daily_quota is False
    daily = api_error(httpx.Response(429, json=rate_limit_error(None, quota_id="GenerateRequestsPerDayPerProjectPerModel")))
    assert daily.daily_quota is True
    assert api_error(httpx.Response(429, json={"error": {"code": "quota_exceeded", "message": "x"}})).daily_quota is True


# -- Ctrl-C through a real process ------------------------------------------------------------


def test_ctrl_c_stops_sending_keeps_whole_lines_exits_130_and_a_rerun_finishes(server, tmp_path, home):
    srv = server(latency=0.2)
    source = write(tmp_path / "rows.txt", "".join(f"row {n}\n" for n in range(30)))
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": srv.url}
    command = [sys.executable, "-m", "gemini_cli", "batch", "--format", "lines", source, "-o", str(out), "-j", "3"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while (not out.exists() or out.read_text().count("\n") < 3) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130, stderr
    assert stdout == ""
    # (2 when the signal came between an answer and the next send)
    assert re.search(r"^gemini-cli: stopping: waiting up to 5s for [23] answers in flight \(Ctrl-C again to stop now\)$", stderr, re.M)
    assert stderr.endswith("gemini-cli: error: interrupted\n")
    first = records(out.read_text())
    assert 3 <= len(first) < 30 and all(r["status"] == "completed" for r in first)
    sent = srv.count
    assert sent == len(first)  # the answers in flight were waited for and written; nothing else was sent
    rerun = subprocess.run(command + ["-j", "10"], env=env, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    final = records(out.read_text())
    assert sorted(r["id"] for r in final) == list(range(1, 31))
    assert srv.count == 30


# -- progress on stderr -------------------------------------------------------------------------


class _Tty:
    """A terminal-looking stream that keeps what was written."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, text):
        self.parts.append(text)
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return True

    def text(self) -> str:
        return "".join(self.parts)


class _Counts:
    def __init__(self, completed, failed, skipped, in_flight, slots):
        self.completed, self.failed, self.skipped, self.in_flight = completed, failed, skipped, in_flight
        self.limiter = type("L", (), {"slots": slots})()


def test_the_progress_bar_shows_rows_failed_rate_and_concurrency_on_a_terminal(monkeypatch):
    from gemini_cli.render.batch_progress import BatchProgress
    from gemini_cli.render.output import Console

    monkeypatch.setenv("COLUMNS", "150")
    stderr = _Tty()
    console = Console(stderr=stderr)
    assert BatchProgress.wanted(console, stdout=None) is True
    assert BatchProgress.wanted(console, stdout=_Tty()) is False  # records on the same terminal
    assert BatchProgress.wanted(Console(quiet=True, stderr=stderr), stdout=None) is False
    assert BatchProgress.wanted(Console(stderr=sys.stderr), stdout=None) is False  # not a terminal here
    progress = BatchProgress(console, 10, enabled=True)
    progress.update(_Counts(6, 1, 1, 2, 4), force=True)
    progress.close()
    final = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stderr.text()).splitlines()[-1]
    assert re.search(r"batch .* 8/10 1 failed [\d.]+ rows/s ETA \S+ 2/4 in flight", final), final


def test_summary_on_stderr_when_piped_and_none_with_quiet(server):
    server()
    piped = run(["batch", "--format", "lines"], input="a\n")
    assert SUMMARY.fullmatch(piped.stderr)
    assert "\x1b" not in piped.stderr  # no bar, no colour when stderr is not a terminal
    assert run(["batch", "--format", "lines", "-q"], input="a\n").stderr == ""


def test_an_unreachable_api_stops_the_batch_with_exit_7(monkeypatch):
    from conftest import closed_port_url

    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", closed_port_url())
    result = run(["batch", "--format", "lines", "--retries", "0", "-j", "2", "-q"], input="".join(f"{n}\n" for n in range(50)))
    assert result.exit_code == 7
    out = records(result.stdout)
    assert 10 <= len(out) < 50 and {r["error"]["code"] for r in out} == {"network"}
    assert re.fullmatch(r"gemini-cli: error: batch stopped: \d+ rows in a row could not reach the API, retries included: "
                        r"network error talking to http://127\.0\.0\.1:\d+: .*\n", result.stderr)


def test_an_api_message_that_echoes_the_key_is_redacted_in_the_record(server):
    from conftest import API_KEY

    server(answer=lambda body: (400, {"error": {"code": 400, "message": f"bad request for key {API_KEY}", "status": "INVALID_ARGUMENT"}}))
    result = run(["batch", "--format", "lines", "-q"], input="a\n")
    assert result.exit_code == 11
    assert records(result.stdout)[0]["error"]["message"] == "HTTP 400 INVALID_ARGUMENT: bad request for key <redacted>"


def test_sigterm_stops_like_ctrl_c_with_exit_143(server, tmp_path):
    srv = server(latency=0.2)
    source = write(tmp_path / "rows.txt", "".join(f"row {n}\n" for n in range(20)))
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": srv.url}
    proc = subprocess.Popen([sys.executable, "-m", "gemini_cli", "batch", "--format", "lines", source, "-o", str(out), "-j", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while (not out.exists() or not out.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 143, stderr
    assert stderr.endswith("gemini-cli: error: terminated\n")
    assert 1 <= len(records(out.read_text())) == srv.count < 20


def test_row_reader_bad_bytes_long_lines_and_ragged_csv(monkeypatch):
    import io

    from gemini_cli.request import rows

    monkeypatch.setattr(rows, "MAX_LINE", 30)
    got = list(rows.read_rows(io.BytesIO(b'"ok"\n\xff\xfe\n"' + b"x" * 40 + b'"\n{"id": 7, "prompt": "p"}\n'), "jsonl"))
    assert [(r.line, r.id, r.prompt, r.error) for r in got] == [
        (1, 1, "ok", None), (2, 2, None, "line 2: not UTF-8 text"), (3, 3, None, "line 3: longer than 0 MiB"), (4, 7, "p", None)]
    csv_rows = list(rows.read_rows(io.BytesIO(b"\xef\xbb\xbfid,prompt\n1,a\n2\n\n3,c\n"), "csv"))
    assert [(r.line, r.id, r.prompt, r.error) for r in csv_rows] == [
        (2, "1", "a", None), (3, 3, None, "line 3: 1 fields, the header has 2"), (5, "3", "c", None)]


def test_a_row_still_throttled_at_one_request_in_flight_fails_after_its_retries(server):
    srv = server(limit=0)  # every request draws a 429 without a wait hint
    result = run(["batch", "--format", "lines", "-j", "2", "--retries", "1", "-q"], input="a\n")
    assert result.exit_code == 11
    assert records(result.stdout)[0]["error"] == {
        "code": "rate_limited", "exit_code": 5, "http_status": 429,
        "message": "HTTP 429 RESOURCE_EXHAUSTED: Resource has been exhausted (quota GenerateRequestsPerMinutePerProjectPerModel)"}
    assert srv.count == 3  # at 2 in flight (halved to 1), then at 1: the first try and one retry


def test_api_error_keeps_the_details_and_the_retry_after_header_for_the_limiter():
    import httpx

    from gemini_cli.api.client import api_error

    body = rate_limit_error("7s")
    error = api_error(httpx.Response(429, json=body, headers={"retry-after": "3"}))
    assert error.details == body["error"]["details"]
    assert error.retry_after == 3.0 and error.server_wait == 3.0
    bare = api_error(httpx.Response(429, json=body))
    assert bare.retry_after is None and bare.server_wait == 7.0
    assert api_error(httpx.Response(500, text="<html>")).details == []


def test_service_tier_reaches_every_row(server, tmp_path):
    srv = server()
    source = write(tmp_path / "rows.jsonl", '"first"\n')
    result = run(["batch", source, "--dry-run", "--service-tier", "flex"])
    assert result.exit_code == 0
    assert result.stdout.endswith('  "input": "first",\n  "service_tier": "flex"\n}\n\n1 row to send\n')
    assert srv.count == 0


def test_thoughts_go_into_the_record_as_jobs_fetch_writes_them(server):
    """--thoughts asks for summaries (thinking_summaries) and each record keeps them, joined
    per thought step, in the `thoughts` field `jobs fetch` writes; a row without any has none."""
    def answer(body):
        if body["input"] != "think":
            return None
        hop = interaction_for(body, 1)
        hop["steps"] = [{"type": "thought", "signature": "c2ln", "summary": [
                            {"type": "text", "text": "Weighing "}, {"type": "text", "text": "it."}]},
                        {"type": "thought", "summary": [{"type": "text", "text": "Done."}]},
                        *hop["steps"]]
        return 200, hop

    srv = server(answer=answer)
    result = run(["batch", "--format", "lines", "-j", "1", "-q", "--thoughts"], input="think\nplain\n")
    assert result.exit_code == 0, result.stderr
    assert records(result.stdout) == [done(1, 1, "think", 1, thoughts="Weighing it.\n\nDone."), done(2, 2, "plain", 2)]
    assert [b["generation_config"] for b in srv.bodies] == [{"thinking_summaries": "auto"}] * 2


def test_csv_columns_fill_template_placeholders_that_no_p_gives(server, tmp_path, home):
    """The system's {lang} and the prompt's {tone} have no default and no -p: the rows fill
    them; a row without one fails alone, its message naming the row as a way to give it."""
    srv = server()
    (home / "templates").mkdir()
    (home / "templates" / "tr.yaml").write_text("system: Translate into {lang}.\nprompt: 'Text: {input} ({tone})'\n")
    source = write(tmp_path / "t.csv", "prompt,lang,tone\nbonjour,German,formal\nhola,Italian,warm\n")
    result = run(["batch", source, "-t", "tr", "-j", "1", "-q"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert srv.bodies == [
        {"model": "gemini-3-flash-preview", "input": "Text: bonjour (formal)", "system_instruction": "Translate into German."},
        {"model": "gemini-3-flash-preview", "input": "Text: hola (warm)", "system_instruction": "Translate into Italian."},
    ]
    rows = write(tmp_path / "r.jsonl", '{"prompt": "ciao", "params": {"tone": "dry"}}\n'
                                       '{"prompt": "hej", "params": {"tone": "dry", "lang": "Danish"}}\n')
    result = run(["batch", rows, "-t", "tr", "-j", "1", "-q", "-p", "tone", "flat"])
    assert result.exit_code == 11
    failed, completed = records(result.stdout)
    assert failed["error"] == {"code": "usage", "exit_code": 2, "message": (
        "template 'tr' needs parameter 'lang': give it with -p lang VALUE or the row (a CSV column, or JSONL \"params\")")}
    assert completed["status"] == "completed"
    assert srv.bodies[2:] == [{"model": "gemini-3-flash-preview", "input": "Text: hej (dry)",
                               "system_instruction": "Translate into Danish."}]
