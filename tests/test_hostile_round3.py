"""Hostile input, round three (issue 24): a server, a file or a script that misbehaves in
the ways the adversarial review found. Each case runs the real CLI against a loopback
server (tests/fault_server.py) or hostile local files, and checks the exit code, stdout,
stderr, the requests sent and the files written.
"""

from __future__ import annotations

import json
import os

import pytest

from conftest import API_KEY, INTERACTION_ID, interaction, run, run_checked, sse, text_events
from fault_server import reply, short_body, stream


@pytest.fixture
def server(fault_server):
    return fault_server


def rows_file(tmp_path, text: str | bytes, name: str = "in.jsonl"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def out_records(path) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8")]


# -- batch: after a 2xx, a create is never sent again ------------------------------------------


@pytest.mark.parametrize("answer, message", [
    (reply(200, b"<html>oops</html>", "text/html"), "the API sent a body that is not JSON (text/html)"),
    (short_body(b'{"id": "v1_', 500), "the connection broke while reading the answer"),
])
def test_batch_never_posts_a_row_again_after_a_2xx(server, tmp_path, answer, message):
    server.queue(answer)
    out = tmp_path / "out.jsonl"
    result = run_checked(["batch", rows_file(tmp_path, '{"id": "a", "prompt": "hi"}\n'), "-o", str(out), "-j", "1"])
    assert result.exit_code == 11, result.stderr
    assert len(server.requests) == 1  # one POST: the server answered 2xx, the row may be billed
    [record] = out_records(out)
    assert (record["id"], record["status"]) == ("a", "failed")
    assert message in record["error"]["message"]
    assert "retrying" not in result.stderr


# -- batch: a malformed row is a failed row, the rest run ----------------------------------------


def answered(*texts: str):
    return [reply(200, json.dumps(interaction(text, interaction_id=f"v1_{n}")).encode()) for n, text in enumerate(texts)]


@pytest.mark.parametrize("name, data, lines, problem", [
    ("in.jsonl", b'{"id": "a", "prompt": "one"}\n' + b"[" * 100_000 + b"\n" + b'{"id": "c", "prompt": "three"}\n',
     (1, 2, 3), "line 2: not valid JSON: nested too deeply"),
    ("in.csv", b'id,prompt\na,one\nb,caf\xe9\nc,three\n', (2, 3, 4), "line 3: not UTF-8 text"),
])
def test_batch_a_malformed_row_is_a_failed_row_and_the_rest_run(server, tmp_path, name, data, lines, problem):
    server.queue(*answered("one", "three"))
    out = tmp_path / "out.jsonl"
    args = ["batch", rows_file(tmp_path, data, name), "-o", str(out), "-j", "1", "--ordered"]
    result = run_checked(args)
    assert result.exit_code == 11, result.stderr
    records = out_records(out)
    assert [(r["id"], r["line"], r["status"]) for r in records] == [
        ("a", lines[0], "completed"), (lines[1], lines[1], "failed"), ("c", lines[2], "completed")]
    assert records[1]["error"]["message"] == problem
    assert [r.get("output_text") for r in records if r["status"] == "completed"] == ["one", "three"]
    # a rerun does not die at that row: it records it as failed again and sends nothing
    again = run_checked(args)
    assert again.exit_code == 11, again.stderr
    assert len(server.requests) == 2
    assert [r["status"] for r in out_records(out)] == ["completed", "completed", "failed"]


# -- batch ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rows, message", [
    ('{"id": 1, "prompt": "a"}\n{"id": "x", "prompt": "b"}\n{"id": "1", "prompt": "c"}\n',
     'line 3: the id "1" is also the id of line 1 (ids must be unique; 1, 1.0 and "1" are the same id)'),
    ('{"id": "x", "prompt": "a"}\n\n{"id": "x", "prompt": "b"}\n',
     'line 3: the id "x" is also the id of line 1 (ids must be unique; 1, 1.0 and "1" are the same id)'),
    ('{"id": 1, "prompt": "a"}\n{"id": 1.0, "prompt": "b"}\n',
     'line 2: the id 1.0 is also the id of line 1 (ids must be unique; 1, 1.0 and "1" are the same id)'),
])
def test_batch_duplicate_ids_in_a_file_are_refused_before_sending(server, tmp_path, rows, message):
    out = tmp_path / "out.jsonl"
    result = run_checked(["batch", rows_file(tmp_path, rows), "-o", str(out)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: {message}\n"
    assert server.requests == [] and not out.exists()


def test_batch_duplicate_ids_on_stdin_make_the_later_row_a_failed_row(server, tmp_path):
    server.queue(*answered("a"))
    result = run_checked(["batch", "-j", "1"], input='{"id": 1, "prompt": "a"}\n{"id": "1", "prompt": "b"}\n')
    assert result.exit_code == 11
    first, second = [json.loads(line) for line in result.stdout.splitlines()]
    assert (first["id"], first["status"], second["id"], second["status"]) == (1, "completed", "1", "failed")
    assert second["error"]["message"] == 'line 2: the id "1" is also the id of line 1 (ids must be unique; 1, 1.0 and "1" are the same id)'
    assert len(server.requests) == 1


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_batch_an_id_that_is_not_a_finite_number_is_a_failed_row_written_as_valid_json(server, tmp_path, value):
    out = tmp_path / "out.jsonl"
    result = run_checked(["batch", rows_file(tmp_path, f'{{"id": {value}, "prompt": "a"}}\n'), "-o", str(out)])
    assert result.exit_code == 11
    text = out.read_text()
    [record] = [json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} written")) for line in text.splitlines()]
    assert record == {"id": 1, "line": 1, "status": "failed", "error": {
        "code": "usage", "message": "line 1: 'id' must be a non-empty string or a finite number", "exit_code": 2}}
    assert server.requests == []


# -- batch: OUTPUT is locked ----------------------------------------------------------------------


def test_batch_refuses_an_output_another_batch_is_writing(server, tmp_path):
    from gemini_cli.state.locks import lock

    out = tmp_path / "out.jsonl"
    with lock(out, 0):  # another batch on the same OUTPUT
        result = run_checked(["batch", rows_file(tmp_path, '"hi"\n'), "-o", str(out), "--lock-timeout", "0.1"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gemini-cli: waiting for another gemini-cli writing {out}\n"
                             f"gemini-cli: error: OUTPUT {out} is in use by another gemini-cli process (waited 0.1s); "
                             "retry when it has finished, or wait longer with --lock-timeout\n")
    assert server.requests == [] and not out.exists()


def test_batch_waits_for_the_output_lock_then_resumes_what_the_other_wrote(server, tmp_path):
    import threading

    from gemini_cli.state.locks import lock

    out = tmp_path / "out.jsonl"
    server.queue(*answered("two"))
    held = lock(out, 0)
    held.__enter__()
    out.write_text(json.dumps({"id": 1, "line": 1, "status": "completed", "output_text": "one"}) + "\n")
    threading.Timer(0.15, held.__exit__, (None, None, None)).start()
    result = run_checked(["batch", rows_file(tmp_path, '"one"\n"two"\n'), "-o", str(out), "--lock-timeout", "5"])
    assert result.exit_code == 0, result.stderr
    assert f"waiting for another gemini-cli writing {out}" in result.stderr
    assert [r["id"] for r in out_records(out)] == [1, 2] and len(server.requests) == 1


# -- wrongly typed fields: dropped or repaired with a warning, never exit 1 ------------------------


WRONG_STEPS = [
    {"type": ["model_output"], "content": []},
    {"type": "model_output", "content": [{"type": ["text"], "text": "x"}, {"type": "text", "text": "!", "annotations": "zz"},
                                         {"type": "image", "data": "aGk=", "mime_type": 5}]},
]
WRONG_WARNINGS = (
    "gemini-cli: warning: the server sent a model_output step that has a block in its content whose type is not a string (repaired)\n"
    "gemini-cli: warning: the server sent a model_output step that has a text block whose annotations has the wrong type (repaired)\n"
    "gemini-cli: warning: the server sent a model_output step that has an image block whose mime_type has the wrong type (repaired)\n"
    "gemini-cli: warning: the server sent malformed data, saved without it: 1 malformed step(s) (no string \"type\")\n")
REPAIRED_STEPS = [{"type": "thought", "signature": "c2ln"}, {"type": "model_output", "content": [{"type": "text", "text": "hi"}]},
                  {"type": "model_output", "content": [{"type": "text", "text": "!"}, {"type": "image", "data": "aGk="}]}]


def test_a_unary_answer_with_wrongly_typed_fields_is_repaired_with_warnings(api, tmp_path):
    body = interaction("hi")
    body["steps"] += WRONG_STEPS
    api.json(body)
    session = tmp_path / "s.json"
    result = run_checked(["generate", "--no-stream", "--media-dir", str(tmp_path), "--session", str(session), "q"])
    assert (result.exit_code, result.stderr) == (0, WRONG_WARNINGS)
    assert result.stdout == f"hi!\n{tmp_path}/{INTERACTION_ID}-3-1.bin\n"
    assert json.loads(session.read_text())["turns"][0]["steps"] == REPAIRED_STEPS


def test_history_fetch_of_wrongly_typed_fields_is_repaired_with_warnings(api, tmp_path):
    api.json({"id": INTERACTION_ID, "status": "in_progress"}, status=200)
    assert run_checked(["generate", "--no-stream", "--background", "q"]).exit_code == 0
    body = interaction("hi")
    body["steps"] += WRONG_STEPS
    api.json({**body, "status": ["in_progress"]}, path=f"/v1beta/interactions/{INTERACTION_ID}", method="GET")
    result = run_checked(["--debug", "history", "fetch", "--wait", INTERACTION_ID, "--media-dir", str(tmp_path)])
    assert result.exit_code == 9, result.stderr  # a status that is a list counts as unknown: not completed
    assert result.stdout == f"hi!\n{tmp_path}/{INTERACTION_ID}-3-1.bin\n"
    lines = WRONG_WARNINGS.splitlines(keepends=True)
    assert result.stderr == ("".join(lines[:3]) + lines[3].rstrip("\n") + "; status was a list\n"
                             "gemini-cli: saved the unknown turn to conversation " + result.stderr.split()[-9] + "\n"
                             "gemini-cli: error: the interaction ended with status unknown\n")


@pytest.mark.parametrize("event, warning", [
    ({"event_type": 5, "x": 1}, "a stream event whose event_type is not a string"),
    ({"event_type": ["step.delta"], "index": 1}, "a stream event whose event_type is not a string"),
    ({"event_type": "step.delta", "index": 1, "delta": {"type": ["text"], "text": "zz"}}, "a step.delta whose type is not a string"),
    ({"event_type": "step.delta", "index": 1, "delta": {"type": {"a": 1}}}, "a step.delta whose type is not a string"),
])
def test_a_stream_event_whose_type_is_not_a_string_is_dropped_with_a_warning(api, event, warning):
    events = text_events("a", "b")
    events.insert(6, event)
    api.stream(events)
    result = run_checked(["generate", "q"])
    assert (result.exit_code, result.stdout) == (0, "ab\n")
    assert result.stderr == f"gemini-cli: warning: the server sent {warning} (its events were dropped)\n"


# -- values that gave exit 1 ------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["--timeout", "inf"], "invalid value for '--timeout': 'inf' is not a finite number"),
    (["--timeout", "nan"], "invalid value for '--timeout': 'nan' is not a finite number"),
    (["--temperature", "nan"], "invalid value for '--temperature': 'nan' is not a finite number"),
    (["--top-p", "nan"], "invalid value for '--top-p': 'nan' is not a finite number"),
    (["--max-time", "nan"], "invalid value for '--max-time': 'nan' is not a finite number"),
    (["--lock-timeout", "inf"], "invalid value for '--lock-timeout': 'inf' is not a finite number"),
])
def test_a_flag_that_is_not_a_finite_number_exits_2(api, args, message):
    result = run_checked(["generate", *args, "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: generate: {message} (see gemini-cli generate --help)\n"
    assert api.requests() == []


@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf"])
def test_a_config_timeout_that_is_not_a_finite_number_exits_2(api, home, value):
    (home / "config.yaml").write_text(f"timeout: {value}\n")
    result = run_checked(["generate", "hi"])
    assert result.exit_code == 2 and api.requests() == []
    shown = {".inf": "inf", ".nan": "nan", "-.inf": "-inf"}[value]
    assert result.stderr == f"gemini-cli: error: config file {home / 'config.yaml'}: 'timeout' must be a finite number, got {shown}\n"


def test_a_bad_ssl_cert_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    result = run_checked(["generate", "--base-url", "https://127.0.0.1:9", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gemini-cli: error: cannot load the TLS certificates from SSL_CERT_FILE={tmp_path / 'missing.pem'}: "
                             "No such file or directory\n")


@pytest.mark.parametrize("flags", [["-m", "caf\udce9"], ["--stop", "caf\udce9"], ["-s", "caf\udce9"]])
def test_dry_run_refuses_an_argument_that_is_not_utf8_as_the_real_run_does(api, flags):
    for dry in (["--dry-run"], []):
        result = run_checked(["generate", *dry, *flags, "hi"])
        assert (result.exit_code, result.stdout) == (2, ""), dry
        assert result.stderr == "gemini-cli: error: the request holds text that is not UTF-8 (a command-line argument?)\n"
    assert api.requests() == []


@pytest.mark.parametrize("kind, why", [("missing", "No such file or directory"), ("file", "Not a directory")])
def test_a_bad_ssl_cert_dir_is_named(monkeypatch, tmp_path, kind, why):
    folder = tmp_path / "certs"
    if kind == "file":
        folder.write_text("not a folder")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(folder))
    result = run_checked(["generate", "--base-url", "https://127.0.0.1:9", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: cannot load the TLS certificates from SSL_CERT_DIR={folder}: {why}\n"


def test_a_prompt_argument_that_is_not_utf8_exits_2(api):
    result = run_checked(["generate", "caf\udce9"])  # how Python hands over argv byte 0xe9
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gemini-cli: error: the PROMPT argument is not UTF-8 text (check the shell's locale)\n"
    result = run_checked(["generate", "-s", "caf\udce9", "hi"])
    assert result.stderr == "gemini-cli: error: the request holds text that is not UTF-8 (a command-line argument?)\n"
    assert result.exit_code == 2 and api.requests() == []


@pytest.mark.parametrize("flag", ["--body-extra", "--schema"])
@pytest.mark.parametrize("content, problem", [
    ("[" * 100_000, "is nested deeper than 100 levels"),
    ('{"a": ' * 150 + "1" + "}" * 150, "is nested deeper than 100 levels"),
    (None, "is over 20 MiB (stopped reading there)"),
])
def test_a_json_file_nested_100000_deep_or_endless_exits_2(api, tmp_path, flag, content, problem):
    path = "/dev/zero" if content is None else rows_file(tmp_path, content, "deep.json")
    result = run_checked(["generate", flag, f"@{path}", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: {flag} file {path} {problem}\n"
    assert api.requests() == []


# -- paths ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["../../x", "v1beta?alt=1", "v1beta#x", "v1/../../upload", "", "v1 beta"])
def test_an_api_version_that_could_reach_another_path_exits_2_before_any_request(api, version):
    for command in (["generate", "hi"], ["files", "list"], ["history", "fetch", INTERACTION_ID]):
        result = run_checked([*command, "--api-version", version])
        assert (result.exit_code, result.stdout) == (2, ""), command
        assert result.stderr == (f"gemini-cli: error: API version {version!r} (from --api-version) is not a version "
                                 "(letters, digits, '.', '_', '-' only, e.g. v1beta)\n")
    assert api.requests() == []


# -- secrets ----------------------------------------------------------------------------------------


def test_a_key_the_server_echoes_into_an_answer_is_redacted_in_the_conversation_file(api, tmp_path):
    api.json(interaction(f"your key is {API_KEY}!"))
    session = tmp_path / "s.json"
    result = run(["generate", "--no-stream", "--session", str(session), "q"])
    assert (result.exit_code, result.stdout) == (0, f"your key is {API_KEY}!\n")  # the answer, as sent: it is the user's
    assert result.stderr == ("gemini-cli: warning: the answer repeats a secret (the API key or an MCP header value): "
                             "saved as <redacted>\n")
    saved = session.read_text()
    assert API_KEY not in saved
    assert json.loads(saved)["turns"][0]["steps"][1]["content"][0]["text"] == "your key is <redacted>!"


def test_record_of_a_body_that_is_not_utf8_redacts_the_key(server, tmp_path):
    import base64

    body = b"\xff\xfe not utf-8, and the key " + API_KEY.encode() + b" echoed"
    server.queue(reply(200, body, "application/octet-stream"))
    tape = tmp_path / "tape.jsonl"
    result = run_checked(["--record", str(tape), "generate", "--no-stream", "q"])
    assert result.exit_code == 6  # not JSON
    [entry] = [json.loads(line) for line in tape.read_text().splitlines()]
    assert base64.b64decode(entry["response"]["body_base64"]) == body.replace(API_KEY.encode(), b"<redacted>")
    assert API_KEY not in tape.read_text()


def test_record_refuses_a_symlink_at_the_cassette(server, tmp_path):
    target = tmp_path / "elsewhere"
    (tmp_path / "tape.jsonl").symlink_to(target)
    result = run_checked(["--record", str(tmp_path / "tape.jsonl"), "generate", "q"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: the cassette {tmp_path / 'tape.jsonl'} is a symbolic link; refusing to follow it\n"
    assert not target.exists() and server.requests == []


@pytest.mark.parametrize("pasted", ["AIza" + "SyD3adb33fC0ffee0123456789abcdefABCD", "sk-live-0123456789abcdefghijklmnop"])
def test_a_key_pasted_as_api_key_command_is_not_printed(api, home, monkeypatch, pasted):
    monkeypatch.delenv("GEMINI_API_KEY")
    (home / "config.yaml").write_text(f"api_key_command: {pasted}\n")
    (home / "config.yaml").chmod(0o600)
    result = run_checked(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (3, "")
    assert pasted not in result.stderr
    assert result.stderr == (f"gemini-cli: error: api_key_command in {home / 'config.yaml'}: cannot run <redacted> "
                             "(it looks like an API key, not a command): No such file or directory\n")


# -- chat: /history and the prompt never send control sequences to a terminal ----------------------


HOSTILE = "a\x1b]52;c;cm0gLXJmIH4=\x07b\x1b]0;pwned\x07c\x1b[2Jd"
SHOWN = "a^[]52;c;cm0gLXJmIH4=^Gb^[]0;pwned^Gc^[[2Jd"


def test_chat_history_on_a_terminal_shows_escape_sequences_as_text(server, tmp_path):
    import subprocess
    import sys

    server.queue(reply(200, json.dumps(interaction(HOSTILE)).encode()))
    session = tmp_path / "s.json"
    assert run_checked(["generate", "--no-stream", "--session", str(session), "q"]).exit_code == 0
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gemini_cli", "chat", "--session", str(session)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    proc.stdin.write(b"/history\n")
    proc.stdin.close()
    seen = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        seen += data
    os.close(master)
    proc.wait(timeout=60)
    terminal = seen.decode()
    assert SHOWN in terminal and "\x1b]" not in terminal and "\x07" not in terminal


def test_the_chat_prompt_shows_a_model_name_with_escapes_as_text():
    from gemini_cli.runs.chat import prompt_for

    assert prompt_for("gemini\x1b]0;pwned\x07") == "gemini^[]0;pwned^G> "
    assert prompt_for("gemini-3-flash-preview") == "gemini-3-flash-preview> "


# -- --max-time bounds every wait ------------------------------------------------------------------


def test_max_time_bounds_the_wait_for_a_busy_conversation(api, tmp_path):
    import time

    from gemini_cli.state.locks import lock

    session = tmp_path / "s.json"
    with lock(session, 0):
        started = time.monotonic()
        result = run_checked(["generate", "--session", str(session), "--max-time", "0.3", "--lock-timeout", "30", "hi"])
        took = time.monotonic() - started
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr == (f"gemini-cli: waiting for another gemini-cli using {session}\n"
                             f"gemini-cli: error: gave up: the --max-time deadline of 0.3s was reached "
                             f"(waiting for another gemini-cli using {session})\n")
    assert took < 5 and api.requests() == []


def test_max_time_bounds_api_key_command(api, home, monkeypatch):
    import time

    monkeypatch.delenv("GEMINI_API_KEY")
    (home / "config.yaml").write_text("api_key_command: sleep 30\n")
    started = time.monotonic()
    result = run_checked(["generate", "--max-time", "0.3", "hi"])
    assert time.monotonic() - started < 5
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr == (f"gemini-cli: error: gave up: the --max-time deadline of 0.3s was reached "
                             f"(waiting for api_key_command in {home / 'config.yaml'})\n")


# -- a turn's total size; compressed data ------------------------------------------------------------


def test_a_turn_past_its_total_size_bound_stops_with_the_partial_turn_saved(api, tmp_path, monkeypatch):
    from gemini_cli.runs import turn

    monkeypatch.setattr(turn, "MAX_TURN", 4096)
    api.stream(text_events(*["x" * 1000] * 8))  # each event well under the event limit; together past the turn's
    session = tmp_path / "s.json"
    result = run_checked(["generate", "--session", str(session), "hi"])
    assert result.exit_code == 6
    assert result.stderr.endswith("gemini-cli: error: the answer grew past 0 MiB (the limit of one turn); stopped reading\n")
    printed = result.stdout.rstrip("\n")
    assert printed and set(printed) == {"x"} and len(printed) < 8000
    [saved] = json.loads(session.read_text())["turns"]
    assert saved["status"] == "interrupted"
    assert saved["steps"][-1]["content"][0]["text"] == printed


GARBAGE = b"\x00garbage that is not deflate data" * 4


def gzip_reply(data: bytes, content_type: str, *, corrupt: bool):
    """A gzip body: `data` (decodable on its own), then bytes that are not deflate data,
    sent a moment later so that the client reads them separately."""
    import time
    import zlib

    from fault_server import head

    def answer(conn, request):
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        good = packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)
        rest = GARBAGE if corrupt else packer.flush()
        conn.sendall(head(200, content_type, {"Content-Length": str(len(good) + len(rest)), "Content-Encoding": "gzip"}) + good)
        time.sleep(0.1)
        conn.sendall(rest)
    return answer


def test_corrupt_compressed_data_in_a_json_answer_exits_7_after_one_post(server):
    server.queue(gzip_reply(json.dumps(interaction("hi")).encode(), "application/json", corrupt=True))
    result = run_checked(["generate", "--no-stream", "hi"])
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr == ("gemini-cli: error: the answer's compressed data (Content-Encoding) was corrupt; "
                             "not sent again, as the server had answered\n")
    assert len(server.requests) == 1


def test_corrupt_compressed_data_in_a_stream_is_resumed_like_a_cut(server):
    events = text_events("Hel", "lo")
    head_events = sse(events[:7], done=False).encode()  # up to the first text delta (event id t0)
    server.queue(gzip_reply(head_events, "text/event-stream", corrupt=True),
                 stream([sse(events[7:]).encode()]))
    result = run_checked(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (0, "Hello\n"), result.stderr
    assert "the stream's compressed data (Content-Encoding) was corrupt; resuming after event t0" in result.stderr
    assert [(r.method, r.query.get("last_event_id")) for r in server.requests] == [("POST", None), ("GET", "t0")]


# -- history list: a corrupt index entry, a huge file ------------------------------------------------


@pytest.mark.parametrize("field, value", [("title", ["a"]), ("turns", "many"), ("model", {"x": 1})])
def test_a_corrupt_index_entry_does_not_break_history_list(api, home, field, value):
    api.json(interaction("hi"))
    assert run_checked(["generate", "--no-stream", "hello"]).exit_code == 0
    first = run_checked(["history", "list"])
    assert first.exit_code == 0
    index = next(home.rglob(".index.json"))
    data = json.loads(index.read_text())
    [entry] = data["entries"].values()
    entry[2][field] = value
    index.write_text(json.dumps(data))
    os.utime(index, ns=(entry[0] + 10**9, entry[0] + 10**9))  # newer than the file: the entry is trusted
    again = run_checked(["--debug", "history", "list"])
    assert (again.exit_code, again.stdout, again.stderr) == (0, first.stdout, "")


def test_a_corrupt_index_nested_too_deeply_is_rebuilt(api, home):
    api.json(interaction("hi"))
    assert run_checked(["generate", "--no-stream", "hello"]).exit_code == 0
    first = run_checked(["history", "list"])
    next(home.rglob(".index.json")).write_text("[" * 100_000)
    again = run_checked(["history", "list"])
    assert (again.exit_code, again.stdout) == (0, first.stdout)


def test_history_list_does_not_parse_a_file_past_its_read_bound(api, home, monkeypatch):
    from gemini_cli.state import store

    api.json(interaction("hi"))
    assert run_checked(["generate", "--no-stream", "hello"]).exit_code == 0
    [path] = [p for p in home.rglob("*.json") if not p.name.startswith(".")]
    monkeypatch.setattr(store, "MAX_LIST_READ", path.stat().st_size - 1)
    monkeypatch.setattr(store, "load", lambda path: pytest.fail("the file was parsed"))
    result = run_checked(["history", "list"])
    assert result.exit_code == 0
    assert "<too large to list: 0 MiB>" in result.stdout and path.stem in result.stdout


# -- --replay: the live limits, hostile cassette values -----------------------------------------------


def _exchange(response: dict, error: dict | None = None) -> str:
    entry = {"request": {"method": "POST", "path": "/v1beta/interactions", "headers": [],
                         "body": {"model": "gemini-3-flash-preview", "input": "hi"}},
             "response": response}
    if error is not None:
        entry["error"] = error
    return json.dumps(entry) + "\n"


def test_replay_of_a_gzip_bomb_stops_at_the_json_body_limit_with_bounded_memory(tmp_path):
    import base64

    from fault_server import gzip_bomb
    from test_hostile import cli

    tape = tmp_path / "tape.jsonl"
    tape.write_text(_exchange({"status": 200, "reason": "OK", "headers": [["content-type", "application/json"],
                                                                          ["content-encoding", "gzip"]],
                               "body_base64": base64.b64encode(gzip_bomb(256 << 20)).decode()}))
    code, out, err, peak = cli(["--replay", str(tape), "generate", "--no-stream", "--no-save", "hi"])
    assert (code, out) == (6, "")
    assert err == "gemini-cli: error: HTTP 200: the API sent a body larger than 64 MiB; stopped reading it\n"
    print(f"peak RSS replaying a 256 MiB gzip bomb: {peak:.0f} MiB")
    assert peak < 200


@pytest.mark.parametrize("line, problem", [
    (_exchange({"status": 200, "headers": [["x-note", "caf\u00e9"]], "body": "{}"}),
     "the response header 'x-note' has a character HTTP headers cannot carry"),
    (_exchange({"status": 200, "headers": [["x-note", "a\r\nb"]], "body": "{}"}),
     "the response header 'x-note' has a character HTTP headers cannot carry"),
    (_exchange({"status": 200, "headers": [], "body": "{}"}, {"type": "TooManyRedirects", "message": "x"}),
     "the error type 'TooManyRedirects' is not a network error httpx raises"),
    (_exchange({"status": 200, "headers": [], "body": "{}"}, {"type": "__class__", "message": "x"}),
     "the error type '__class__' is not a network error httpx raises"),
    (_exchange({"status": 200, "headers": [], "body": "\ud800"}),
     "the response body holds a lone surrogate (\\ud800-\\udfff), which is not text (record it as body_base64)"),
    (_exchange({"status": 200, "headers": [["content-type", "text/event-stream"]], "events": ["data: \udfff\n\n"]}),
     "the response body holds a lone surrogate (\\ud800-\\udfff), which is not text (record it as body_base64)"),
])
def test_a_hostile_cassette_value_exits_2_with_its_line_number(tmp_path, line, problem):
    tape = tmp_path / "tape.jsonl"
    tape.write_text(_exchange({"status": 200, "headers": [], "body": json.dumps(interaction("ok"))}) + line)
    result = run_checked(["--replay", str(tape), "generate", "--no-stream", "--no-save", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: {tape} line 2: {problem}\n"


def test_the_temporary_copy_of_attach_stdin_is_never_left_in_tmpdir(server, tmp_path):
    import subprocess
    import sys
    import time

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    reader, writer = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "gemini_cli", "generate", "-a", "-", "hi"], stdin=reader,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "TMPDIR": str(scratch)})
    os.close(reader)
    try:
        block = b"\0" * (1 << 20)
        for _ in range(22):  # past the 20 MiB inline limit: the rest is copied to a temporary file
            os.write(writer, block)
        deadline = time.monotonic() + 30
        fd_dir = f"/proc/{proc.pid}/fd"
        while time.monotonic() < deadline and not any("gemini-cli-attachment" in os.readlink(f"{fd_dir}/{n}")
                                                      for n in os.listdir(fd_dir)):
            time.sleep(0.05)
        assert any("(deleted)" in os.readlink(f"{fd_dir}/{n}") for n in os.listdir(fd_dir))  # the copy is open...
        assert os.listdir(scratch) == []  # ...and has no name, so a SIGKILL leaves nothing behind
        proc.kill()
        proc.wait(timeout=30)
        assert os.listdir(scratch) == []
    finally:
        os.close(writer)
        if proc.poll() is None:
            proc.kill()


# -- batch OUTPUT: symbolic links, a torn line of 300 MB ---------------------------------------------


@pytest.mark.parametrize("restart", [False, True])
@pytest.mark.parametrize("target_exists", [False, True])
def test_batch_refuses_an_output_that_is_a_symlink(server, tmp_path, restart, target_exists):
    target = tmp_path / "precious"
    if target_exists:
        target.write_text("keep me\n")
    out = tmp_path / "out.jsonl"
    out.symlink_to(target)
    result = run_checked(["batch", rows_file(tmp_path, '"hi"\n'), "-o", str(out), *(["--restart"] if restart else [])])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: OUTPUT {out} is a symbolic link; refusing to follow it (name the file itself)\n"
    assert (target.read_text() if target_exists else target.exists()) == ("keep me\n" if target_exists else False)
    assert out.is_symlink() and server.requests == []


def test_batch_resume_past_a_300_mb_torn_line_keeps_memory_bounded(server, tmp_path):
    from test_hostile import cli

    out = tmp_path / "out.jsonl"
    with open(out, "wb") as f:
        f.write(json.dumps({"id": 1, "line": 1, "status": "completed", "output_text": "one"}).encode() + b"\n")
        f.write(b'{"id": 2, "line": 2, "status": "completed", "output_text": "')
        block = b"z" * (1 << 20)
        for _ in range(300):
            f.write(block)  # torn: no end, no newline
    server.queue(*answered("two"))
    code, stdout, err, peak = cli(["batch", rows_file(tmp_path, '"one"\n"two"\n'), "-o", str(out)])
    print(f"peak RSS resuming past a 300 MB torn line: {peak:.0f} MiB")
    assert code == 0, err
    assert [(r["id"], r["output_text"]) for r in out_records(out)] == [(1, "one"), (2, "two")]
    assert len(server.requests) == 1
    assert peak < 250  # one MAX_RECORD (64 MiB) read at most, twice over; about 1 GB before the bound


def test_a_session_under_a_dangling_symlinked_folder_is_refused(api, tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "dir").symlink_to(tmp_path / "victim")
    session = tmp_path / "shared" / "dir" / "s.json"
    result = run_checked(["generate", "--session", str(session), "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gemini-cli: error: --session {session}: the folder {tmp_path / 'shared' / 'dir'} is a "
                             f"symbolic link to {tmp_path / 'victim'}, which does not exist; refusing to create a file through it\n")
    assert not (tmp_path / "victim").exists() and api.requests() == []


def test_a_relative_home_is_not_used(api, tmp_path, monkeypatch):
    import pwd
    from types import SimpleNamespace

    account = tmp_path / "account"
    account.mkdir()
    monkeypatch.delenv("GEMINI_CLI_HOME")
    monkeypatch.setenv("HOME", "relative-home")
    monkeypatch.setattr(pwd, "getpwuid", lambda uid: SimpleNamespace(pw_dir=str(account)))
    monkeypatch.chdir(tmp_path)
    api.json(interaction("hi"))
    result = run_checked(["generate", "--no-stream", "q"])
    assert result.exit_code == 0, result.stderr
    assert not (tmp_path / "relative-home").exists()
    assert list((account / ".local" / "share" / "gemini-cli" / "conversations").glob("*.json"))


# -- round three, second pass (audit3): lone surrogates, huge waits, unbounded files --------------

SURROGATE_WARNING = ("gemini-cli: warning: the server sent text holding lone surrogates (\\ud800-\\udfff halves of "
                     "no character), shown and saved as U+FFFD\n")


@pytest.mark.parametrize("mode, shown", [
    ([], "a\ufffdb\n"),
    (["--no-stream"], "a\ufffdb\n"),
    (["--markdown"], "a\ufffdb\n"),
    (["--thoughts"], None),
    (["-o", "json"], None),
])
def test_a_lone_surrogate_in_an_answer_is_repaired_with_one_warning(api, tmp_path, mode, shown):
    session = tmp_path / "s.json"
    if "--no-stream" in mode or "-o" in mode:
        api.json(interaction("a\ud800b"))
    else:
        api.stream(text_events("a\ud800", "b", thought="t\udfffx"))
    result = run_checked(["generate", *mode, "--session", str(session), "q"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("lone surrogates") == 1 and SURROGATE_WARNING in result.stderr
    if shown is not None:
        assert result.stdout == shown
    elif "-o" in mode:
        assert json.loads(result.stdout)["output_text"] == "a\ufffdb"
    else:
        assert result.stdout == "a\ufffdb\n" and result.stderr.startswith("t\ufffdx\n")  # thoughts: stderr
    saved = json.loads(session.read_text(encoding="utf-8"))
    assert "a\ufffdb" in json.dumps(saved, ensure_ascii=False)
    assert "interrupted" not in session.read_text()
    api.stream(text_events("next", interaction_id="v1_next"))
    again = run_checked(["generate", "--session", str(session), "more"])  # the loader accepts the file
    assert (again.exit_code, again.stdout) == (0, "next\n"), again.stderr


def test_batch_a_lone_surrogate_in_an_answer_is_a_recorded_row(server, tmp_path):
    server.queue(*answered("a\ud800b", "two"))
    out = tmp_path / "out.jsonl"
    result = run_checked(["batch", rows_file(tmp_path, '"one"\n"two"\n'), "-o", str(out), "-j", "1", "--ordered"])
    assert result.exit_code == 0, result.stderr
    assert [(r["status"], r["output_text"]) for r in out_records(out)] == [("completed", "a\ufffdb"), ("completed", "two")]


def test_batch_an_id_with_a_lone_surrogate_is_a_failed_row_before_anything_is_sent(server, tmp_path):
    server.queue(*answered("one", "three"))
    out = tmp_path / "out.jsonl"
    args = ["batch", rows_file(tmp_path, '"first"\n{"id": "\\udc00", "prompt": "x"}\n"third"\n'), "-o", str(out), "-j", "1",
            "--ordered"]
    result = run_checked(args)
    assert result.exit_code == 11, result.stderr
    records = out_records(out)
    assert [(r["id"], r["status"]) for r in records] == [(1, "completed"), (2, "failed"), (3, "completed")]
    assert records[1]["error"]["message"] == "line 2: 'id' is not UTF-8 text (it holds a lone surrogate escape)"
    assert len(server.requests) == 2  # the bad row was never sent
    again = run_checked(args)  # a rerun sends nothing more
    assert again.exit_code == 11 and len(server.requests) == 2


@pytest.mark.parametrize("flags", [["--max-time", "1e10"], ["--max-time", "1e308"], ["--timeout", "1e12"],
                                   ["--timeout", "1e308", "--max-time", "1e300"], ["--lock-timeout", "1e308"]])
def test_a_huge_wait_means_no_deadline_in_practice(api, flags):
    import subprocess
    import sys

    api.json(interaction("ok"))
    proc = subprocess.run([sys.executable, "-m", "gemini_cli", "generate", "--no-stream", "--no-save", *flags],
                          input=b"hi", capture_output=True, timeout=60)  # piped stdin: read under the deadline
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"ok\n", b"")


def test_a_huge_tool_timeout_runs_the_tool(api):
    api.json({"id": "v1_a", "status": "requires_action", "steps": [
        {"type": "function_call", "id": "c1", "name": "echo", "arguments": {"x": "hi"}}]})
    api.json(interaction("done", interaction_id="v1_b"))
    result = run_checked(["generate", "--no-stream", "--no-save", "--tool-timeout", "1e308", "--function", "echo=echo {x}", "q"])
    assert (result.exit_code, result.stdout) == (0, "done\n"), result.stderr


@pytest.mark.parametrize("flag, content, problem", [
    ("--mcp-config", "[" * 100_000, "--mcp-config {path} is nested deeper than 100 levels"),
    ("--mcp-config", '{"mcpServers": ' * 150 + "{}" + "}" * 150, "--mcp-config {path} is nested deeper than 100 levels"),
    ("--mcp-config", None, "--mcp-config {path} is over 20 MiB (stopped reading there)"),
    ("--functions", None, "--functions file {path} is over 20 MiB (stopped reading there)"),
    ("--system-file", None, "--system-file {path} is over 20 MiB (stopped reading there)"),
    ("--session", None, "conversation file {path} is not a regular file and sends over 64 MiB (stopped reading there)"),
])
def test_a_file_flag_nested_100000_deep_or_endless_exits_2(api, tmp_path, flag, content, problem):
    path = "/dev/zero" if content is None else rows_file(tmp_path, content, "deep.json")
    result = run_checked(["generate", flag, path, "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: {problem.format(path=path)}\n"
    assert api.requests() == []


@pytest.mark.parametrize("args, what", [
    (["hi"], "stdin"),  # the prompt's stdin
    (["-a", "-", "hi"], "stdin"),
    (["-a", "-", "--dry-run", "hi"], "stdin"),
    (["-a", "/dev/stdin", "hi"], "stdin"),
    (["--system-file", "/dev/stdin", "hi"], "--system-file /dev/stdin"),
])
def test_max_time_bounds_reading_stdin_an_attachment_or_a_system_file_from_an_open_pipe(api, args, what):
    import subprocess
    import sys
    import time

    reader, writer = os.pipe()
    os.write(writer, b"some bytes, and the pipe stays open")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "gemini_cli", "generate", "--max-time", "0.5", *args],
                            stdin=reader, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(reader)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(writer)
    assert time.monotonic() - started < 10
    assert (proc.returncode, out) == (7, b"")
    assert err == f"gemini-cli: error: gave up: the --max-time deadline of 0.5s was reached (reading {what})\n".encode()
    assert api.requests() == []


def test_a_tool_loop_sums_usage_by_the_rule_of_continuation_hops(api):
    first = {"total_tokens": 10, "input_tokens_by_modality": [{"modality": "text", "tokens": 4}],
             "grounding_tool_count": [{"type": "google_search", "count": 1}], "initial_input_tokens": 4}
    second = {"total_tokens": 20, "input_tokens_by_modality": [{"modality": "text", "tokens": 6}],
              "grounding_tool_count": [{"type": "google_search", "count": 2}], "initial_input_tokens": 6}
    api.json({"id": "v1_a", "status": "requires_action", "usage": first, "steps": [
        {"type": "function_call", "id": "c1", "name": "echo", "arguments": {"x": "hi"}}]})
    api.json(interaction("done", interaction_id="v1_b", usage=second))
    result = run_checked(["generate", "--no-stream", "--no-save", "-o", "json", "--function", "echo=echo {x}", "q"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["usage"] == {
        "total_tokens": 30, "input_tokens_by_modality": [{"modality": "text", "tokens": 10}],
        "grounding_tool_count": [{"type": "google_search", "count": 3}], "initial_input_tokens": 4}


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_tool_timeout_that_is_not_a_finite_number_exits_2(api, value):
    result = run_checked(["generate", "--tool-timeout", value, "--function", "echo=echo {x}", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gemini-cli: error: generate: invalid value for '--tool-timeout': {value!r} is not a finite "
                             "number (see gemini-cli generate --help)\n")
    assert api.requests() == []


def test_a_model_output_whose_error_is_a_string_stops_like_an_object_error(api, tmp_path):
    body = interaction("Partial")
    body["steps"][1]["error"] = "blocked"
    api.json(body)
    result = run_checked(["generate", "--no-stream", "--session", str(tmp_path / "s.json"), "hi"])
    assert (result.exit_code, result.stdout) == (9, "Partial\n")
    assert result.stderr == "gemini-cli: error: the answer was blocked or stopped (status completed): blocked\n"


def test_usage_shows_no_count_that_is_not_an_integer(api):
    api.json(interaction("ok", usage={"total_tokens": True, "total_input_tokens": 5}))
    result = run_checked(["generate", "--no-stream", "--no-save", "--usage", "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == "usage: 5 input tokens\n"


# -- Done when: no hostile case reaches the user as a traceback, even under --debug ------------------


def _hostile_cases():
    """(name, setup(tmp_path, api) -> args, input): hostile invocations from this file and test_hostile.py."""
    deep = "[" * 100_000

    def file(tmp_path, name, data):
        path = tmp_path / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        return str(path)

    def wrong_types(tmp_path, api):
        body = interaction("hi")
        body["steps"] += WRONG_STEPS + [5, {"type": {"x": 1}}]
        api.json(body)
        return ["generate", "--no-stream", "--media-dir", str(tmp_path), "q"]

    def stream_types(tmp_path, api):
        events = text_events("a")
        events[3:3] = [{"event_type": [1]}, {"event_type": "step.delta", "index": [0], "delta": {"type": {}}},
                       {"event_type": "step.delta", "index": 1, "delta": {"type": "text_annotation_delta", "annotations": [5]}}]
        api.stream(events)
        return ["generate", "q"]

    def non_json(tmp_path, api):
        api.server.expect_ordered_request("/v1beta/interactions", method="POST").respond_with_data("<html>", content_type="text/html")
        return ["batch", file(tmp_path, "in.jsonl", '"hi"\n'), "-o", str(tmp_path / "o.jsonl")]

    def deep_json_body(tmp_path, api):
        api.server.expect_ordered_request("/v1beta/interactions", method="POST").respond_with_data(deep, content_type="application/json")
        return ["generate", "--no-stream", "q"]

    return {
        "wrongly typed unary answer": wrong_types,
        "wrongly typed stream events": stream_types,
        "batch: a non-JSON 2xx": non_json,
        "a success body nested 100,000 deep": deep_json_body,
        "batch: a row nested 100,000 deep": lambda t, a: ["batch", "--dry-run", file(t, "in.jsonl", deep + "\n")],
        "batch: a CSV with a byte that is not UTF-8": lambda t, a: ["batch", "--dry-run", file(t, "in.csv", b"prompt\ncaf\xe9\n")],
        "batch: duplicate ids": lambda t, a: ["batch", file(t, "in.jsonl", '{"id": 1, "prompt": "a"}\n{"id": "1", "prompt": "b"}\n')],
        "batch: NaN id": lambda t, a: ["batch", "--dry-run", file(t, "in.jsonl", '{"id": NaN, "prompt": "a"}\n')],
        "--timeout nan": lambda t, a: ["generate", "--timeout", "nan", "q"],
        "--timeout inf": lambda t, a: ["generate", "--timeout", "inf", "q"],
        "--temperature nan": lambda t, a: ["generate", "--temperature", "nan", "q"],
        "--max-time nan": lambda t, a: ["generate", "--max-time", "nan", "q"],
        "a PROMPT that is not UTF-8": lambda t, a: ["generate", "caf\udce9"],
        "--body-extra nested 100,000 deep": lambda t, a: ["generate", "--body-extra", "@" + file(t, "d.json", deep), "q"],
        "--schema nested 100,000 deep": lambda t, a: ["generate", "--schema", "@" + file(t, "d.json", deep), "q"],
        "--body-extra @/dev/zero": lambda t, a: ["generate", "--body-extra", "@/dev/zero", "q"],
        "--api-version ../../x": lambda t, a: ["generate", "--api-version", "../../x", "q"],
        "--api-version with ?": lambda t, a: ["generate", "--api-version", "v1beta?x=1", "q"],
        "a bad SSL_CERT_FILE": lambda t, a: ["generate", "--base-url", "https://127.0.0.1:9", "q"],
        "a session whose step index is far off": lambda t, a: (a.stream([{"event_type": "step.start", "index": 10**8, "step": {"type": "model_output"}}]
                                                                        + text_events("x")), ["generate", "q"])[1],
        "a replay cassette with a non-ASCII header": lambda t, a: ["--replay", file(t, "tape.jsonl", _exchange(
            {"status": 200, "headers": [["x", "caf\u00e9"]], "body": "{}"})), "generate", "--no-stream", "hi"],
        "a replay cassette with an unknown error type": lambda t, a: ["--replay", file(t, "tape.jsonl", _exchange(
            {"status": 200, "headers": [], "body": "{}"}, {"type": "Nope", "message": "x"})), "generate", "hi"],
        "batch: an id with a lone surrogate": lambda t, a: ["batch", "--dry-run", file(t, "in.jsonl", '{"id": "\\udc00", "prompt": "x"}\n')],
        "--mcp-config nested 100,000 deep": lambda t, a: ["generate", "--mcp-config", file(t, "d.json", deep), "q"],
        "--mcp-config /dev/zero": lambda t, a: ["generate", "--mcp-config", "/dev/zero", "q"],
        "--functions /dev/zero": lambda t, a: ["generate", "--functions", "/dev/zero", "q"],
        "--system-file /dev/zero": lambda t, a: ["generate", "--system-file", "/dev/zero", "q"],
        "--session /dev/zero": lambda t, a: ["generate", "--session", "/dev/zero", "q"],
        "an answer with a lone surrogate": lambda t, a: (a.json(interaction("a\ud800b")), ["generate", "--no-stream", "q"])[1],
        "a stream with a lone surrogate": lambda t, a: (a.stream(text_events("a\ud800b")), ["generate", "q"])[1],
        "a replay cassette whose body is a lone surrogate": lambda t, a: ["--replay", file(t, "tape.jsonl", _exchange(
            {"status": 200, "headers": [], "body": "\ud800"})), "generate", "--no-stream", "hi"],
        "a corrupt .index.json": lambda t, a: (os.makedirs(t / "home" / "conversations", exist_ok=True),
                                              (t / "home" / "conversations" / ".index.json").write_text(deep),
                                              ["history", "list"])[2],
    }


@pytest.mark.parametrize("name", list(_hostile_cases()))
def test_no_hostile_case_gives_a_traceback_under_debug(api, tmp_path, monkeypatch, name):
    if name == "a bad SSL_CERT_FILE":
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    args = _hostile_cases()[name](tmp_path, api)
    result = run(["--debug", *args])
    assert result.exit_code not in (0, 1) or name in ("wrongly typed unary answer", "wrongly typed stream events",
                                                       "a session whose step index is far off", "a corrupt .index.json",
                                                       "an answer with a lone surrogate", "a stream with a lone surrogate",
                                                       "batch: a row nested 100,000 deep", "batch: NaN id", "batch: an id with a lone surrogate",
                                                       "batch: a CSV with a byte that is not UTF-8")
    assert result.exit_code != 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_history_fetch_repairs_a_lone_surrogate_with_the_same_one_warning(api):
    api.json(interaction("a\ud800b"), path=f"/v1beta/interactions/{INTERACTION_ID}", method="GET")
    result = run_checked(["history", "fetch", INTERACTION_ID])
    assert (result.exit_code, result.stdout) == (0, "a\ufffdb\n"), result.stderr
    assert result.stderr == SURROGATE_WARNING
