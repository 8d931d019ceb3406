"""--record / --replay: record against the loopback fake, replay with the server stopped and
no key; the same stdout, stderr, exit code and saved conversation; mismatches exit 12."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Response

from conftest import API_KEY, INTERACTION_ID, FakeApi, interaction, run, sse, text_events
from gemini_cli.api import cassette as cassettes
from gemini_cli.api import replay as replays
from gemini_cli.errors import ExitCode

DATA = Path(__file__).parent / "data"


@pytest.fixture
def live(monkeypatch):
    """A fake API of its own, so that a test can stop it before replaying."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url_for("/").rstrip("/"))
    yield FakeApi(server)
    if server.is_running():
        server.stop()


def offline(live: FakeApi, monkeypatch) -> None:
    """Stop the server (any request would now be refused) and take the key away."""
    live.server.check_assertions()
    live.server.stop()
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def outcome(result) -> tuple[int, str, str]:
    return result.exit_code, result.stdout, result.stderr


def turns(home: Path) -> list[dict]:
    """The saved conversations, without what is local to a run (the local id, times)."""
    found = []
    for path in sorted((home / "conversations").glob("*.json")):
        if not path.name.startswith("."):
            data = {k: v for k, v in json.loads(path.read_text()).items() if k not in ("id", "created", "updated")}
            data["turns"] = [{k: v for k, v in turn.items() if k != "created"} for turn in data["turns"]]
            found.append(data)
    return found


def fresh_home(home: Path) -> None:
    shutil.rmtree(home / "conversations", ignore_errors=True)


# -- generate ------------------------------------------------------------------------------------


def test_streamed_generate_replays_offline_without_a_key(live, home, tmp_path, monkeypatch):
    tape = tmp_path / "tape.jsonl"
    live.stream(text_events("Hello", ", world"))
    recorded = run(["--record", str(tape), "generate", "--usage", "Say hi"])
    assert outcome(recorded)[:2] == (0, "Hello, world\n")
    assert "tokens" in recorded.stderr  # --usage: stderr has something to compare
    saved = turns(home)

    offline(live, monkeypatch)
    fresh_home(home)
    replayed = run(["--replay", str(tape), "generate", "--usage", "Say hi"])
    assert outcome(replayed) == outcome(recorded)
    assert turns(home) == saved and saved[0]["turns"][0]["interaction_id"] == INTERACTION_ID

    [exchange] = lines(tape)
    assert exchange["request"]["method"] == "POST" and exchange["request"]["path"] == "/v1beta/interactions"
    assert exchange["request"]["body"] == {"model": "gemini-3-flash-preview", "input": "Say hi", "stream": True}
    assert exchange["response"]["status"] == 200
    # The stream is kept as its events, which are the bytes the server sent.
    assert "".join(exchange["response"]["events"]) == sse(text_events("Hello", ", world"))
    assert exchange["response"]["events"][0].startswith("event: interaction.created\ndata: ")


def test_env_vars_and_the_default_base_url(live, home, tmp_path, monkeypatch):
    tape = tmp_path / "tape.jsonl"
    live.json(interaction("Fine."))
    recorded = run(["generate", "--no-stream", "How are you?"], env={"GEMINI_CLI_RECORD": str(tape)})
    assert outcome(recorded) == (0, "Fine.\n", "")
    offline(live, monkeypatch)
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL")  # the real API's URL: never reached
    replayed = run(["generate", "--no-stream", "How are you?"], env={"GEMINI_CLI_REPLAY": str(tape)})
    assert outcome(replayed) == (0, "Fine.\n", "")


def test_retries_and_errors_replay_the_same(live, tmp_path, monkeypatch):
    tape = tmp_path / "tape.jsonl"
    live.error(503, "overloaded", "UNAVAILABLE")
    live.stream(text_events("Back."))
    live.error(400, "bad model", "INVALID_ARGUMENT")
    first = run(["--record", str(tape), "generate", "One"])
    second = run(["--record", str(tape), "generate", "Two"])
    assert outcome(first)[:2] == (0, "Back.\n") and "retrying in" in first.stderr
    assert second.exit_code == ExitCode.REJECTED and "bad model" in second.stderr
    assert [e["response"]["status"] for e in lines(tape)] == [503, 200, 400]

    offline(live, monkeypatch)
    assert outcome(run(["--replay", str(tape), "generate", "Two"])) == outcome(second)
    # With a cassette the backoff has no jitter: the note gives the same wait.
    assert "retrying in 0.0s (attempt 2 of 5)" in first.stderr
    assert outcome(run(["--replay", str(tape), "generate", "One"])) == outcome(first)


def test_interrupted_stream_and_its_resume_replay_the_same(live, home, tmp_path, monkeypatch):
    tape = tmp_path / "tape.jsonl"
    events = text_events("one ", "two ", "three")
    cut = events[:7]  # through the first text delta, t0
    assert cut[-1]["event_id"] == "t0"
    live.stream(sse(cut, done=False))
    rest = events[len(cut):]
    live.stream(rest, path=f"/v1beta/interactions/{INTERACTION_ID}", method="GET",
                query_string={"stream": "true", "last_event_id": "t0"})
    recorded = run(["--record", str(tape), "generate", "Count"])
    assert outcome(recorded)[:2] == (0, "one two three\n") and "resuming after event t0" in recorded.stderr, recorded.stderr
    saved = turns(home)
    assert [e["request"]["method"] for e in lines(tape)] == ["POST", "GET"]
    assert lines(tape)[1]["request"]["path"] == f"/v1beta/interactions/{INTERACTION_ID}?stream=true&last_event_id=t0"

    offline(live, monkeypatch)
    fresh_home(home)
    assert outcome(run(["--replay", str(tape), "generate", "Count"])) == outcome(recorded)
    assert turns(home) == saved


def test_a_transport_error_mid_stream_is_raised_again(tmp_path, monkeypatch):
    """A recorded httpx error comes back as the same class and message, after the events."""
    tape = tmp_path / "tape.jsonl"
    events = sse(text_events("par"), done=False).split("\n\n")[:5]
    tape.write_text(json.dumps({
        "request": {"method": "POST", "path": "/v1beta/interactions", "body": {"model": "gemini-3-flash-preview", "input": "x", "stream": True}},
        "response": {"status": 200, "headers": [["content-type", "text/event-stream"]], "events": [e + "\n\n" for e in events]},
        "error": {"type": "RemoteProtocolError", "message": "peer closed connection"},
    }) + "\n")
    monkeypatch.delenv("GEMINI_API_KEY")
    result = run(["--replay", str(tape), "generate", "--no-save", "--retries", "0", "x"])
    assert result.exit_code == ExitCode.STREAM_INTERRUPTED
    assert "peer closed connection" in result.stderr


# -- no match ------------------------------------------------------------------------------------


def test_unmatched_request_exits_12_naming_what_was_asked_and_what_is_held(live, tmp_path, monkeypatch):
    tape = tmp_path / "tape.jsonl"
    live.stream(text_events("Hi"))
    run(["--record", str(tape), "generate", "Say hi"])
    offline(live, monkeypatch)
    result = run(["--replay", str(tape), "generate", "Say bye"])
    assert result.exit_code == 12 == ExitCode.REPLAY_MISMATCH
    assert result.stdout == ""
    assert result.stderr == (
        f"gemini-cli: error: replay: no unused exchange in the cassette {tape} matches POST /v1beta/interactions "
        '{"model":"gemini-3-flash-preview","input":"Say bye","stream":true}; its 1 unused exchange(s): '
        "POST /v1beta/interactions (the body differs at input)\n"
    )
    # Each exchange answers once.
    assert run(["--replay", str(tape), "generate", "Say hi"]).exit_code == 0
    again = run(["--replay", str(tape), "files", "list"])
    assert again.exit_code == 12 and "GET /v1beta/files?pageSize=100" in again.stderr


def test_mismatch_in_a_piped_chat_stops_it(tmp_path, monkeypatch):
    tape = tmp_path / "empty.jsonl"
    tape.write_text("")
    monkeypatch.delenv("GEMINI_API_KEY")
    result = run(["--replay", str(tape), "chat"], input="one\ntwo\n")
    assert result.exit_code == 12
    assert result.stderr.count("error:") == 1 and "the cassette is empty" in result.stderr


@pytest.mark.parametrize("content, message", [
    ("{not json\n", "line 1: not a recorded exchange"),
    ('{"request": {"method": "GET", "path": "/x"}}\n', "line 1: not a recorded exchange"),
    ('\n{"request": {"method": "GET", "path": "/x"}, "response": {"status": 200, "headers": [["a"]]}}\n', "line 2: not a"),
    ('{"request": {"method": "GET", "path": "/x"}, "response": {"status": 200, "body_base64": "%%"}}\n', "line 1: not a"),
    ('{"request": {"method": "GET", "path": "/x"}, "response": {"status": 99}}\n', "line 1: not a"),
    ('{"request": {"method": "GET", "path": "/x"}, "response": {"status": 200, "events": [1]}}\n', "line 1: not a"),
    ("[" * 100000 + "\n", "line 1: not a"),
])
def test_a_damaged_cassette_exits_2(tmp_path, content, message, monkeypatch):
    tape = tmp_path / "tape.jsonl"
    tape.write_text(content)
    result = run(["--replay", str(tape), "generate", "x"])
    assert result.exit_code == 2 and message in result.stderr


def test_missing_cassette_and_both_flags_exit_2(live, tmp_path):
    result = run(["--replay", str(tmp_path / "nope.jsonl"), "generate", "x"])
    assert result.exit_code == 2 and "cannot read the cassette" in result.stderr
    result = run(["--record", str(tmp_path / "no" / "such" / "dir.jsonl"), "generate", "x"])
    assert (result.exit_code, result.stderr) == (
        2, f"gemini-cli: error: cannot write the cassette {tmp_path}/no/such/dir.jsonl: No such file or directory\n")
    assert live.requests() == []  # nothing is sent that could not be recorded
    result = run(["--record", "a", "--replay", "b", "generate", "x"])
    assert result.exit_code == 2 and "not both" in result.stderr


# -- secrets ---------------------------------------------------------------------------------------


def test_the_cassette_never_holds_a_key_or_a_secret_header(live, home, tmp_path, monkeypatch):
    tape = tmp_path / "tape.jsonl"
    config_key = "AIza" + "ConfigKeyConfigKeyConfigKey0123456789"  # no key-shaped literal in the tree
    live.server.expect_ordered_request("/v1beta/interactions", method="POST").respond_with_response(Response(
        json.dumps(interaction(f"your key is {API_KEY}")), content_type="application/json",
        headers={"Set-Cookie": "session=s3cr3t-cookie", "X-Request-Id": "r1"}))
    live.json(interaction("again"))
    run(["--record", str(tape), "generate", "--no-stream", "--no-save", "hi"])
    monkeypatch.delenv("GEMINI_API_KEY")  # now from the config file
    (home / "config.yaml").write_text(f"retry_delay: 0.01\napi_key: {config_key}\n")
    os.chmod(home / "config.yaml", 0o600)
    run(["--record", str(tape), "generate", "--no-stream", "--no-save", "hi"])
    live.server.check_assertions()

    text = tape.read_text()
    for secret in (API_KEY, config_key, "s3cr3t-cookie"):
        assert secret not in text
    assert stat.S_IMODE(os.stat(tape).st_mode) == 0o600
    first, second = lines(tape)
    assert ["x-goog-api-key", "<redacted>"] in first["request"]["headers"]
    assert ["set-cookie", "<redacted>"] in first["response"]["headers"]
    assert ["x-request-id", "r1"] in first["response"]["headers"]
    assert json.loads(first["response"]["body"])["steps"][1]["content"][0]["text"] == "your key is <redacted>"
    assert ["x-goog-api-key", "<redacted>"] in second["request"]["headers"]


def test_replay_runs_no_api_key_command(home, tmp_path, monkeypatch):
    """No key is needed: a password manager is not even asked."""
    tape = tmp_path / "tape.jsonl"
    tape.write_text(json.dumps({
        "request": {"method": "GET", "path": "/v1beta/files?pageSize=100"},
        "response": {"status": 200, "headers": [["content-type", "application/json"]], "body": '{"files": []}'},
    }) + "\n")
    marker = tmp_path / "ran"
    monkeypatch.delenv("GEMINI_API_KEY")
    (home / "config.yaml").write_text(f"api_key_command: touch {marker}\n")
    result = run(["--replay", str(tape), "files", "list"])
    assert result.exit_code == 0 and not marker.exists()


# -- uploads, files, history fetch -----------------------------------------------------------------


@pytest.fixture
def files_fake(live, monkeypatch):
    from gemini_cli.api import files as files_api
    from test_files_api import FakeFiles

    monkeypatch.setattr(files_api, "CHUNK_SIZE", 1024)
    return FakeFiles(live.server)


def test_upload_is_recorded_by_size_and_hash_and_replays(live, files_fake, home, tmp_path, monkeypatch):
    tape = tmp_path / "tape.jsonl"
    data = b"\x89PNG\r\n\x1a\n" + b"upload-bytes-" * 200  # 2608 bytes: three chunks
    photo = tmp_path / "cat.png"
    photo.write_bytes(data)
    recorded = run(["--record", str(tape), "upload", str(photo)])
    listed = run(["--record", str(tape), "files", "get", "files/file1"])
    assert recorded.exit_code == 0 and recorded.stdout.startswith("files/file1\t")
    assert listed.exit_code == 0 and "files/file1" in listed.stdout

    exchanges = lines(tape)
    chunks = [e["request"] for e in exchanges if "body_sha256" in e["request"]]
    assert [c["body_size"] for c in chunks] == [1024, 1024, 560]
    import hashlib

    assert chunks[0]["body_sha256"] == hashlib.sha256(data[:1024]).hexdigest()
    assert "upload-bytes" not in tape.read_text()
    # The upload URL points at another host; only the path and query are matched.
    assert chunks[0]["path"] == "/upload/v1beta/files?upload_id=up1&upload_protocol=resumable"

    offline(live, monkeypatch)
    # A CI job's file: another folder, same bytes (display_name is volatile).
    moved = tmp_path / "ci" / "photo.png"
    moved.parent.mkdir()
    moved.write_bytes(data)
    replayed = run(["--replay", str(tape), "upload", str(moved)])
    assert outcome(replayed) == outcome(recorded)
    assert outcome(run(["--replay", str(tape), "files", "get", "files/file1"])) == outcome(listed)
    # Other bytes: the chunk's hash does not match.
    moved.write_bytes(data[:-1] + b"!")
    changed = run(["--replay", str(tape), "upload", str(moved)])
    assert changed.exit_code == 12 and "(560 bytes, sha256 " in changed.stderr


def test_record_and_replay_skip_the_upload_cache(live, files_fake, home, tmp_path, monkeypatch):
    """A cached upload would leave the upload out of the recording: with a cassette it is made."""
    tape = tmp_path / "tape.jsonl"
    photo = tmp_path / "cat.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert run(["upload", str(photo)]).exit_code == 0  # now in the cache
    recorded = run(["--record", str(tape), "upload", str(photo)])
    assert recorded.exit_code == 0 and "already uploaded" not in recorded.stderr
    assert any("body_sha256" in e["request"] for e in lines(tape))
    offline(live, monkeypatch)
    assert outcome(run(["--replay", str(tape), "upload", str(photo)])) == outcome(recorded)


def test_generate_with_an_attachment_and_files_list_replay(live, files_fake, home, tmp_path, monkeypatch):
    from gemini_cli.request import inputs

    monkeypatch.setattr(inputs, "INLINE_LIMIT", 200)  # past it, an attachment is uploaded
    tape = tmp_path / "tape.jsonl"
    photo = tmp_path / "cat.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    live.server.expect_oneshot_request("/v1beta/interactions", method="POST").respond_with_data(
        sse(text_events("A black square.")), content_type="text/event-stream")
    described = run(["--record", str(tape), "generate", "-a", str(photo), "What is this?"])
    live.server.expect_oneshot_request("/v1beta/files", method="GET").respond_with_json(
        {"files": [{"name": "files/file1", "uri": "u", "mimeType": "image/png", "sizeBytes": "308", "state": "ACTIVE"}]})
    listed = run(["--record", str(tape), "files", "list"])
    assert outcome(described)[:2] == (0, "A black square.\n") and listed.exit_code == 0
    saved = turns(home)
    assert "files/file1" in json.dumps(saved[0]["turns"][0]["input"]), saved

    offline(live, monkeypatch)
    fresh_home(home)
    assert outcome(run(["--replay", str(tape), "generate", "-a", str(photo), "What is this?"])) == outcome(described)
    assert turns(home) == saved
    assert outcome(run(["--replay", str(tape), "files", "list"])) == outcome(listed)


def test_inline_attachment_is_recorded_by_size_and_hash(live, tmp_path, monkeypatch):
    import base64
    import hashlib

    tape = tmp_path / "tape.jsonl"
    photo = tmp_path / "cat.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"pixels" * 100)
    encoded = base64.b64encode(photo.read_bytes()).decode()
    live.stream(text_events("Pixels."))
    recorded = run(["--record", str(tape), "generate", "--no-save", "-a", str(photo), "What is this?"])
    assert outcome(recorded) == (0, "Pixels.\n", "")
    assert encoded not in tape.read_text()
    [exchange] = lines(tape)
    image = exchange["request"]["body"]["input"][0]["content"][0]  # in its user_input step
    assert image["data"] == f"<{len(encoded)} characters, sha256 {hashlib.sha256(encoded.encode()).hexdigest()}>"

    offline(live, monkeypatch)
    assert outcome(run(["--replay", str(tape), "generate", "--no-save", "-a", str(photo), "What is this?"])) == outcome(recorded)
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"pixelz" * 100)
    changed = run(["--replay", str(tape), "generate", "--no-save", "-a", str(photo), "What is this?"])
    assert changed.exit_code == 12 and "the body differs at input[0].content[0].data" in changed.stderr


def test_history_fetch_replays(live, home, tmp_path, monkeypatch):
    tape = tmp_path / "tape.jsonl"
    live.json(interaction("Done in the background."), path=f"/v1beta/interactions/{INTERACTION_ID}", method="GET")
    recorded = run(["--record", str(tape), "history", "fetch", INTERACTION_ID])
    assert recorded.exit_code == 0 and "Done in the background." in recorded.stdout
    offline(live, monkeypatch)
    assert outcome(run(["--replay", str(tape), "history", "fetch", INTERACTION_ID])) == outcome(recorded)


# -- the recorded multi-turn conversation in tests/data ------------------------------------------


CHAT_TAPE = DATA / "chat_two_turns.jsonl"
CHAT_INPUT = "What is the capital of France?\nAnd of Germany?\n"


def test_recorded_chat_replays_from_tests_data(home, monkeypatch):
    """tests/data/chat_two_turns.jsonl: a piped chat of two turns, the second chained to the
    first by previous_interaction_id, recorded against the fake API (see make_chat_tape)."""
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL", raising=False)
    result = run(["--replay", str(CHAT_TAPE), "chat"], input=CHAT_INPUT)
    assert outcome(result) == (0, "Paris.\nBerlin.\n", "")
    [saved] = turns(home)
    assert [t["interaction_id"] for t in saved["turns"]] == ["v1_turn1", "v1_turn2"]
    # Another second message is not in the cassette.
    fresh_home(home)
    other = run(["--replay", str(CHAT_TAPE), "chat"], input="What is the capital of France?\nAnd of Spain?\n")
    assert other.exit_code == 12 and other.stdout == "Paris.\n"
    assert "the body differs at input" in other.stderr


def make_chat_tape(api: FakeApi, path: Path) -> None:
    """How tests/data/chat_two_turns.jsonl was made (test_chat_tape_is_what_recording_gives)."""
    api.stream(text_events("Paris.", interaction_id="v1_turn1"))
    api.stream(text_events("Berlin.", interaction_id="v1_turn2"), json={
        "model": "gemini-3-flash-preview", "input": "And of Germany?", "previous_interaction_id": "v1_turn1", "stream": True})
    result = run(["--record", str(path), "chat"], input=CHAT_INPUT)
    assert outcome(result) == (0, "Paris.\nBerlin.\n", "")


def test_chat_tape_is_what_recording_gives(live, home, tmp_path, monkeypatch):
    """Recording the chat again gives the file in tests/data (but for the client's version),
    and replaying it saves the same conversation as the recorded run."""
    path = tmp_path / "chat.jsonl"
    make_chat_tape(live, path)
    saved = turns(home)
    offline(live, monkeypatch)
    fresh_home(home)
    assert outcome(run(["--replay", str(path), "chat"], input=CHAT_INPUT)) == (0, "Paris.\nBerlin.\n", "")
    assert turns(home) == saved and len(saved[0]["turns"]) == 2

    def stable(exchanges):
        for exchange in exchanges:
            exchange["request"]["headers"] = [h for h in exchange["request"]["headers"] if h[0] not in ("user-agent", "host")]
            exchange["response"]["headers"] = [h for h in exchange["response"]["headers"] if h[0] not in ("date", "server")]
        return exchanges

    assert stable(lines(path)) == stable(lines(CHAT_TAPE))


# -- the pieces ----------------------------------------------------------------------------------


def test_split_events_gives_back_the_same_text():
    text = "event: a\ndata: 1\n\nevent: b\r\ndata: 2\r\n\r\n: ping\n\ndata: partial"
    events = cassettes.split_events(text)
    assert "".join(events) == text
    assert events == ["event: a\ndata: 1\n\n", "event: b\r\ndata: 2\r\n\r\n", ": ping\n\n", "data: partial"]


def test_matching_ignores_volatile_fields_and_names_the_difference():
    recorded = {"method": "POST", "path": "/upload/v1beta/files", "body": {"file": {"display_name": "a.png", "size_bytes": 3}}}
    asked = {"method": "POST", "path": "/upload/v1beta/files", "body": {"file": {"display_name": "b.png", "size_bytes": 3}}}
    assert replays.matches(recorded, asked)
    asked["body"]["file"]["size_bytes"] = 4
    assert not replays.matches(recorded, asked)
    assert replays.body_difference(recorded, asked) == "the body differs at file.size_bytes"
    assert replays.first_difference({"input": [1, 2]}, {"input": [1, 3]}) == "input[1]"
    assert replays.first_difference({"a": 1}, {"a": 1, "b": 2}) == "b"


def test_replay_transport_never_opens_a_socket(tmp_path, monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("a socket was opened during a replay")

    tape = tmp_path / "tape.jsonl"
    tape.write_text("")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    replay = replays.Replay(str(tape))
    client = replay.client(lambda: pytest.fail("the real client was opened"), "https://example.invalid")
    with pytest.raises(Exception) as caught:
        client.get("https://example.invalid/v1beta/files")
    assert type(caught.value).__name__ == "ReplayMismatch"
    assert not isinstance(caught.value, httpx.HTTPError)


# -- the README's CI example, run as it is -------------------------------------------------------


def readme_block(after: str, language: str) -> str:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    start = readme.index(f"```{language}\n", readme.index(after)) + len(language) + 4
    return readme[start:readme.index("```", start)]


def test_readme_ci_example_works(live, tmp_path, monkeypatch):
    """Record the example's script in a subprocess (GEMINI_CLI_RECORD), then run the README's
    test script with the server stopped and no key."""
    import subprocess
    import sys

    script = readme_block("An example CI job", "sh")
    assert "GEMINI_CLI_REPLAY=tests/cassettes/summarize.jsonl" in script
    (tmp_path / "scripts").mkdir()
    (tmp_path / "tests" / "cassettes").mkdir(parents=True)
    summarize = tmp_path / "scripts" / "summarize.sh"
    summarize.write_text('#!/bin/sh\nexec gemini-cli generate --no-save "Summarise: $(cat "$1")"\n')
    summarize.chmod(0o755)
    (tmp_path / "tests" / "report.txt").write_text("Sales rose.")
    (tmp_path / "tests" / "expected-summary.txt").write_text("Up.\n")
    (tmp_path / "tests" / "summarize_test.sh").write_text(script)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    live.stream(text_events("Up."), json={"model": "gemini-3-flash-preview", "input": "Summarise: Sales rose.", "stream": True})
    recorded = subprocess.run(
        ["scripts/summarize.sh", "tests/report.txt"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**env, "GEMINI_CLI_RECORD": "tests/cassettes/summarize.jsonl"},
    )
    assert (recorded.returncode, recorded.stdout, recorded.stderr) == (0, "Up.\n", "")
    offline(live, monkeypatch)
    env.pop("GEMINI_API_KEY")
    ok = subprocess.run(["sh", "tests/summarize_test.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
    assert (ok.returncode, ok.stderr) == (0, "")
    # The test can fail: another answer is expected, or the script asks something else.
    (tmp_path / "tests" / "expected-summary.txt").write_text("Down.\n")
    failed = subprocess.run(["sh", "tests/summarize_test.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
    assert failed.returncode == 1 and "summary changed: Up." in failed.stderr
    (tmp_path / "tests" / "report.txt").write_text("Sales fell.")
    failed = subprocess.run(["sh", "tests/summarize_test.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
    assert failed.returncode == 12 and "Summarise: Sales fell." in failed.stderr


def test_replay_from_several_threads_answers_each_exchange_once(tmp_path):
    """batch sends from worker threads: every recorded exchange is handed out exactly once."""
    from concurrent.futures import ThreadPoolExecutor

    tape = tmp_path / "tape.jsonl"
    exchanges = [
        {"request": {"method": "POST", "path": "/v1beta/interactions", "body": {"input": f"row {n % 10}"}},
         "response": {"status": 200, "headers": [["content-type", "application/json"]], "body": json.dumps({"n": n})}}
        for n in range(40)
    ]
    tape.write_text("".join(json.dumps(e) + "\n" for e in exchanges))
    replay = replays.Replay(str(tape))
    client = replay.client(lambda: pytest.fail("the real client was opened"), "https://example.invalid")

    def ask(n: int) -> int:
        return client.post("https://example.invalid/v1beta/interactions", json={"input": f"row {n % 10}"}).json()["n"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(40)))
    assert sorted(answers) == list(range(40)) and all(replay.used)
    assert all(answer % 10 == n % 10 for n, answer in enumerate(answers))


# -- batch ---------------------------------------------------------------------------------------


def test_batch_records_and_replays_concurrently(home, tmp_path, monkeypatch):
    """batch sends from -j worker threads through the same cassette; --ordered makes the
    output independent of which row finishes first."""
    from batch_server import BatchServer

    tape = tmp_path / "tape.jsonl"
    rows = tmp_path / "rows.txt"
    rows.write_text("".join(f"row {n}\n" for n in range(12)))
    server = BatchServer(latency=0.01)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
    try:
        recorded = run(["--record", str(tape), "batch", str(rows), "--format", "lines", "-j", "4", "--ordered", "-q"])
    finally:
        server.close()
    assert recorded.exit_code == 0 and len(recorded.stdout.splitlines()) == 12
    assert len(lines(tape)) == 12
    monkeypatch.delenv("GEMINI_API_KEY")
    replayed = run(["--replay", str(tape), "batch", str(rows), "--format", "lines", "-j", "4", "--ordered", "-q"])
    assert outcome(replayed) == outcome(recorded)
    rows.write_text("row 0\nrow 99\n")
    partly = run(["--replay", str(tape), "batch", str(rows), "--format", "lines", "-j", "1", "-q"])
    assert partly.exit_code == 12 and '"input":"row 99"' in partly.stderr


def test_backoff_has_no_jitter_with_a_cassette(tmp_path):
    """So that a retry note ("retrying in 2.0s") is the same in the recorded and the replayed run."""
    from gemini_cli.api.client import ApiClient

    tape = tmp_path / "tape.jsonl"
    tape.write_text("")
    options = dict(base_url="https://example.invalid", api_version="v1beta", api_key=None, retry_delay=1.0)
    replaying = ApiClient(**options, cassette=replays.Replay(str(tape)))
    recording = ApiClient(**options, cassette=cassettes.Recording(str(tmp_path / "new.jsonl")))
    plain = ApiClient(**options)
    for client in (replaying, recording):
        assert [client.backoff(n) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
        assert client.retrier().delay() == 1.0
    assert len({plain.backoff(0) for _ in range(20)}) > 1  # without a cassette: jittered
    for client in (replaying, recording, plain):
        client.close()


def test_a_tool_loop_replays_with_its_commands_run_again_and_no_command_in_the_cassette(live, home, tmp_path, monkeypatch):
    from test_function_calls import call_events, fcall

    marker = tmp_path / "ran.txt"
    function = ["--function", f"mark=sh -c 'echo \"$0\" >> {marker}; echo marked' {{word}}"]
    tape = tmp_path / "tape.jsonl"
    live.stream(call_events("v1_r1", fcall("c1", "mark", word="once")))
    live.stream(text_events("Marked.", interaction_id="v1_r2"))
    recorded = run(["--record", str(tape), "generate", *function, "Mark it"])
    assert outcome(recorded)[:2] == (0, "Marked.\n")

    offline(live, monkeypatch)
    fresh_home(home)
    replayed = run(["--replay", str(tape), "generate", *function, "Mark it"])
    assert outcome(replayed) == outcome(recorded)
    assert marker.read_text() == "once\nonce\n"  # the cassette holds HTTP only: the command ran again
    exchanges = lines(tape)
    assert len(exchanges) == 2 and exchanges[1]["request"]["body"]["input"][0]["result"] == "marked\n"
    assert str(marker) not in tape.read_text()  # what ran is not in the cassette, only what it answered
