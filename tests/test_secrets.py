"""The API key never leaks: a full run of real subprocesses, then a grep of everything.

Every command below runs as `python -m gemini_cli` with a distinctive fake key and its
own GEMINI_CLI_HOME; afterwards every file under that home and every captured stdout and
stderr is searched for the key (and for a distinctive piece of it).
"""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import interaction, sse, text_events

KEY = "FAKE-gemini-key-Zq9X7w3Rt5uV1yP8sK2mQ4"
OTHER_KEY = "FAKE-google-key-Lk3Jh6Gf9Ds2Aq5Wz8Xc1V"  # GOOGLE_API_KEY wins over GEMINI_API_KEY
PIECES = (KEY, OTHER_KEY, "Zq9X7w3Rt5uV", "Lk3Jh6Gf9Ds2")

FORCED_INTERNAL_ERROR = """
import os, sys
import gemini_cli.runs.turn as turn

def broken(client, body, renderer, **kwargs):
    secret = os.environ["GEMINI_API_KEY"]
    headers = client.headers()
    raise RuntimeError(f"forced failure: key {secret}, headers {headers}")

turn.run = broken
from gemini_cli.app import main
sys.argv = ["gemini-cli", *sys.argv[1:]]
main()
"""


def test_the_key_appears_nowhere(api, home, tmp_path):
    env = {**os.environ, "GEMINI_API_KEY": KEY, "GEMINI_CLI_HOME": str(home), "NO_COLOR": "1"}
    env.pop("GOOGLE_API_KEY", None)
    outputs: list[tuple[str, bytes]] = []

    def cli(*args: str, stdin: bytes = b"", code: int = 0, script: str | None = None, **extra: str) -> str:
        command = [sys.executable, "-c", script, *args] if script else [sys.executable, "-m", "gemini_cli", *args]
        done = subprocess.run(command, input=stdin, capture_output=True, env={**env, **extra}, timeout=60)
        outputs.extend([(f"stdout of {args}", done.stdout), (f"stderr of {args}", done.stderr)])
        assert done.returncode == code, done.stderr.decode()
        return done.stderr.decode()

    echo = f"API key not valid. Please pass a valid API key. (key: {KEY})"

    api.stream(text_events("Hello", " world"))
    cli("--debug", "generate", "--usage", "--thoughts", "hi")  # streamed, saved as a new conversation
    api.json(interaction("Again"))
    cli("generate", "--continue", "--no-stream", "-o", "json", "--usage", "and again")
    api.stream(text_events("Lines"))
    cli("generate", "-o", "jsonl", "--no-save", "jsonl please")
    cli("generate", "--dry-run", "-s", "system text", "dry")
    cli("--debug", "generate", "--dry-run", "--no-store", "dry, stateless", GOOGLE_API_KEY=OTHER_KEY)

    assert "<redacted>" in cli("--debug", "generate", "hi", code=1, script=FORCED_INTERNAL_ERROR)
    assert "Traceback" in outputs[-1][1].decode()
    assert "<redacted>" in cli("generate", "hi", code=1, script=FORCED_INTERNAL_ERROR)

    api.error(400, echo, "INVALID_ARGUMENT")
    assert "<redacted>" in cli("--debug", "generate", "hi", code=4)
    api.error(403, echo.replace(KEY, OTHER_KEY), "PERMISSION_DENIED")
    cli("generate", "--no-stream", "hi", code=3, GOOGLE_API_KEY=OTHER_KEY)
    api.error(503, echo, "UNAVAILABLE")
    api.stream(text_events("Recovered"))
    assert "retrying" in cli("generate", "--retries", "1", "hi")  # the retry note echoes the key
    # A stream cut mid-answer that cannot resume: the partial turn is saved, marked interrupted.
    api.stream(sse(text_events("Partial", completed=False), done=False))
    cli("generate", "--retries", "0", "--session", str(tmp_path / "session.json"), "cut", code=8)
    api.stream(text_events("One"))
    api.stream(text_events("Two"))
    cli("chat", stdin=b"first message\nsecond message\n")

    # The key was in play: the API received it on every request (the other key when set).
    keys = {request.headers.get("x-goog-api-key") for request in api.requests()}
    assert keys == {KEY, OTHER_KEY}
    files = [path for path in home.rglob("*") if path.is_file()] + [tmp_path / "session.json"]
    assert len([path for path in files if path.suffix == ".json"]) >= 3  # conversations and indexes
    for name, data in outputs + [(str(path), path.read_bytes()) for path in files]:
        for piece in PIECES:
            assert piece.encode() not in data, f"{piece!r} found in {name}"
