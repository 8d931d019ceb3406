"""Hostile and broken input: a server that sends malformed or absurd data, hostile local
files, a terminal. Each case runs the real CLI (a child process where memory, signals or
a terminal are the point) against a loopback server that misbehaves on purpose, and
checks the exit code, stdout, stderr and the files written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import INTERACTION_ID, interaction, run_checked, sse, text_events
from fault_server import FaultServer, reply, stream


@pytest.fixture
def server(monkeypatch):
    fake = FaultServer()
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake.url)
    yield fake
    fake.close()


def cli(args: list[str], input: bytes = b"", timeout: float = 60, env: dict[str, str] | None = None):
    """Run gemini-cli as a child process: (exit code, stdout, stderr, peak RSS in MiB of that child)."""
    import tempfile
    import threading

    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        stdin.write(input)
        stdin.seek(0)
        proc = subprocess.Popen([sys.executable, "-m", "gemini_cli", *args], stdin=stdin, stdout=stdout,
                                stderr=stderr, env={**os.environ, **(env or {})})
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            # wait4: the rusage of this child alone (RUSAGE_CHILDREN mixes in every earlier child)
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        return proc.returncode, stdout.read().decode(), stderr.read().decode(), usage.ru_maxrss / 1024


def frames(*events) -> list[bytes]:
    return [e if isinstance(e, bytes) else sse([e], done=False).encode() for e in events] + [b"event: done\ndata: [DONE]\n\n"]


# -- a saved conversation is always loadable --------------------------------------------


CREATED = {"event_type": "interaction.created", "event_id": "e0", "interaction": {"id": INTERACTION_ID, "status": "in_progress"}}
COMPLETED = {"event_type": "interaction.completed", "event_id": "e9", "interaction": {"id": INTERACTION_ID, "status": "completed"}}
TURN2 = text_events("second", interaction_id="v1_two")


def next_turn_works(server, session) -> list[dict]:
    """A second turn on the same file: it loads, chains to the first turn, and saves."""
    server.queue(stream(frames(*TURN2)))
    result = run_checked(["generate", "--session", str(session), "again"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "second\n", "")
    assert json.loads(server.requests[-1].body)["previous_interaction_id"] == INTERACTION_ID
    return json.loads(session.read_text())["turns"]


def test_a_malformed_step_start_then_deltas_saves_a_loadable_turn(server, tmp_path):
    session = tmp_path / "chat.json"
    server.queue(stream(frames(
        CREATED, b"event: step.start\ndata: {\"index\": 0, \"step\": {\"type\": \n\n",
        {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": "Hi"}},
        {"event_type": "step.stop", "index": 0}, COMPLETED)))
    code, out, err, _ = cli(["generate", "--session", str(session), "hi"])
    assert (code, out) == (0, "Hi\n")
    assert err == (
        "gemini-cli: warning: skipped a malformed event: '{\"index\": 0, \"step\": {\"type\": '\n"
        "gemini-cli: warning: the server sent malformed data, saved without it: 1 malformed step(s) (no string \"type\")\n")
    (first,) = json.loads(session.read_text())["turns"]
    assert (first["interaction_id"], first["status"], first["steps"]) == (INTERACTION_ID, "completed", [])
    assert len(next_turn_works(server, session)) == 2


SAVED_WITHOUT = "gemini-cli: warning: the server sent malformed data, saved without it: "


@pytest.mark.parametrize("fields, code, warnings, status", [
    ({"id": 12345}, 0, [SAVED_WITHOUT + "id was an integer"], "completed"),
    ({"status": ["completed"]}, 9, [SAVED_WITHOUT + "status was a list"], "unknown"),
    ({"steps": "model_output"}, 0, ["gemini-cli: warning: the server sent steps that is not a list (dropped)"], "completed"),
    ({"steps": [42, {"content": []}, {"type": "model_output", "content": [{"type": "text", "text": "ok"}]}]}, 0,
     ["gemini-cli: warning: the server sent a step that is not an object (dropped)",
      SAVED_WITHOUT + "1 malformed step(s) (no string \"type\")"], "completed"),
    ({"usage": "lots"}, 0, ["gemini-cli: warning: the server sent usage that is not an object (ignored)"], "completed"),
])
def test_a_no_stream_body_with_wrong_types_saves_a_loadable_turn(server, tmp_path, fields, code, warnings, status):
    session = tmp_path / "chat.json"
    body = {**interaction("ok"), **fields}
    server.queue(reply(200, json.dumps(body).encode()))
    result = run_checked(["generate", "--no-stream", "--session", str(session), "hi"])
    assert result.exit_code == code
    assert result.stderr.splitlines()[:len(warnings)] == warnings
    saved = json.loads(session.read_text())["turns"][0]
    assert saved["status"] == status
    assert all(isinstance(step.get("type"), str) for step in saved["steps"])
    if status == "completed" and "id" not in fields:
        turns = next_turn_works(server, session)
        assert len(turns) == 2
    else:  # the turn is kept but not chained on; the file still loads
        server.queue(stream(frames(*TURN2)))
        again = run_checked(["generate", "--session", str(session), "again"])
        assert (again.exit_code, again.stdout) == (0, "second\n")


# -- memory bounded by limits -------------------------------------------------------------


def test_a_step_index_far_past_the_steps_seen_allocates_nothing(server, tmp_path):
    session = tmp_path / "chat.json"
    huge = 100_000_000
    server.queue(stream(frames(
        CREATED, {"event_type": "step.start", "index": huge, "step": {"type": "model_output"}},
        {"event_type": "step.delta", "index": huge, "delta": {"type": "text", "text": "x"}},
        {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": "fine"}},
        {"event_type": "step.stop", "index": 0}, COMPLETED)))
    code, out, err, peak = cli(["generate", "--session", str(session), "hi"])
    assert code == 0
    assert out == "xfine\n"  # text is shown as it streams; the step is not kept
    assert err == "gemini-cli: warning: the server sent a step index far past the steps seen, such as 100000000 (its events were dropped)\n"
    # 100 million list slots would be 800 MB; the whole process stays far below that.
    assert peak < 150, f"peak RSS {peak:.0f} MiB"
    print(f"peak RSS {peak:.0f} MiB")
    (turn,) = json.loads(session.read_text())["turns"]
    assert turn["steps"] == [{"type": "model_output", "content": [{"type": "text", "text": "fine"}]}]


# -- interaction ids never leave their path segment ---------------------------------------


def test_history_delete_remote_refuses_an_id_that_is_not_safe_in_a_url(server, home):
    folder = home / "conversations"
    folder.mkdir()
    conv = {"format": "gemini-cli.conversation", "version": 1, "id": "cplanted", "model": "m", "store": True,
            "turns": [{"interaction_id": "../files/abc-123", "status": "completed", "input": [], "steps": []}]}
    (folder / "cplanted.json").write_text(json.dumps(conv))
    result = run_checked(["history", "delete", "--remote", "cplanted"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("gemini-cli: error: interaction id '../files/abc-123' is not a valid id (letters, digits, "
                             "'_', '-', '.', '=' only); refusing to put it in a URL\n")
    assert server.requests == []
    assert (folder / "cplanted.json").exists()


def test_history_fetch_refuses_an_id_with_a_slash(server):
    result = run_checked(["history", "fetch", "files/abc"])
    assert (result.exit_code, server.requests) == (2, [])
    assert "interaction id 'files/abc' is not a valid id" in result.stderr


# -- every failure has its exit code ------------------------------------------------------


def test_json_nested_100000_deep_in_a_success_body_exits_6(server):
    deep = b'{"id": "v1_x", "steps": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    server.queue(reply(200, deep))
    code, out, err, _ = cli(["generate", "--no-stream", "--no-save", "hi"])
    assert (code, out) == (6, "")
    assert err == "gemini-cli: error: HTTP 200: the API sent JSON nested too deeply to read\n"
