"""What a shell script relies on, checked through real processes: pipes, closed and full
stdout, HOME unset, error lines and exit codes (`python -m gemini_cli` against a loopback
fake of the API)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import INTERACTION_ID, sse, text_events


def cli(*args: str, input: bytes | str | None = b"", env: dict[str, str] | None = None,
        shell: str | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run gemini-cli in a child process with the test's environment (plus env). With
    shell, run that bash command line instead, `$CLI` standing for the command."""
    environ = {**os.environ, **(env or {})}
    environ = {key: value for key, value in environ.items() if value is not None}
    if isinstance(input, str):
        input = input.encode()
    command = [sys.executable, "-m", "gemini_cli", *args]
    if shell is not None:
        environ["CLI"] = f"{sys.executable} -m gemini_cli"
        command = ["bash", "-c", shell]
    return subprocess.run(command, input=input, env=environ, capture_output=True, timeout=60, **kwargs)


def err(proc: subprocess.CompletedProcess) -> str:
    return proc.stderr.decode()


# -- no success document for a failure --------------------------------------------------


def test_json_output_of_a_404_is_an_error_document(api, home):
    api.error(404, "models/nope is not found", "NOT_FOUND")
    proc = cli("generate", "-o", "json", "--retries", "0", "hi")
    assert proc.returncode == 4
    assert json.loads(proc.stdout) == {"error": {
        "code": "NOT_FOUND", "message": err(proc)[len("gemini-cli: error: "):-1], "exit_code": 4, "http_status": 404}}
    assert len(err(proc).splitlines()) == 1
    assert not (home / "conversations").exists()  # nothing was saved, so no file is named


def test_jsonl_output_of_a_429_ends_with_an_error_line(api):
    api.error(429, "quota", "RESOURCE_EXHAUSTED")
    proc = cli("generate", "-o", "jsonl", "--retries", "0", "hi")
    assert proc.returncode == 5
    lines = proc.stdout.decode().splitlines()
    assert [json.loads(line)["error"]["exit_code"] for line in lines] == [5]


# -- a closed pipe never loses the turn -------------------------------------------------


def test_closed_pipe_saves_the_partial_turn_and_exits_quietly(api, tmp_path):
    api.stream(text_events(*["x" * 100] * 3000))  # 300 kB: more than a pipe holds
    session = tmp_path / "s.json"
    proc = cli(shell=f'$CLI generate --session {session} hi | head -c 1; echo "${{PIPESTATUS[0]}}" >&2')
    assert proc.stdout == b"x"
    assert err(proc) == "0\n"
    saved = json.loads(session.read_text())
    assert saved["turns"][-1]["status"] == "interrupted"
    assert saved["turns"][-1]["interaction_id"] == INTERACTION_ID
