"""Writes gemini_cli/data/demo.jsonl, the recorded exchange `gemini-cli demo` replays.

The answer is served by a loopback fake of the API and recorded by the CLI itself
(`--record`), so the cassette is in exactly the format api/cassette.py writes. Run it again
(`python tests/data/make_demo_cassette.py`) after a change to the request `demo` sends;
tests/test_demo.py checks that the shipped cassette still answers it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from pytest_httpserver import HTTPServer

ROOT = Path(__file__).resolve().parents[2]
CASSETTE = ROOT / "gemini_cli" / "data" / "demo.jsonl"
ID = "v1_demo-recorded-exchange"
MODEL = "gemini-3-flash-preview"
CHUNKS = [
    "AI systems such as Gemini are trained on large amounts of text (and images, audio and code) ",
    "to predict what comes next. Training adjusts billions of numbers, the model's weights, until ",
    "its predictions are good; answering a prompt is then predicting an answer one piece (a token) ",
    "at a time, each piece chosen from what the prompt and the answer so far make likely.\n\n",
    "(This answer was recorded: `gemini-cli demo` replays it without a key or a network. ",
    "Set a key with `gemini-cli config set-key`, then ask your own: `gemini-cli \"your question\"`.)\n",
]


def events() -> str:
    items = [
        {"event_type": "interaction.created", "event_id": "e0",
         "interaction": {"id": ID, "status": "in_progress", "object": "interaction", "model": MODEL}},
        {"event_type": "step.start", "event_id": "e1", "index": 0, "step": {"type": "model_output"}},
    ]
    items += [{"event_type": "step.delta", "event_id": f"t{n}", "index": 0, "delta": {"type": "text", "text": chunk}}
              for n, chunk in enumerate(CHUNKS)]
    items += [
        {"event_type": "step.stop", "event_id": "e8", "index": 0},
        {"event_type": "interaction.completed", "event_id": "e9",
         "interaction": {"id": ID, "status": "completed", "object": "interaction", "model": MODEL,
                         "usage": {"total_input_tokens": 6, "total_output_tokens": 118, "total_tokens": 124}}},
    ]
    frames = [f"event: {e['event_type']}\ndata: {json.dumps(e)}\n\n" for e in items]
    return "".join(frames) + "event: done\ndata: [DONE]\n\n"


def main() -> None:
    server = HTTPServer()
    server.start()
    server.expect_request("/v1beta/interactions", method="POST").respond_with_data(events(), content_type="text/event-stream")
    try:
        CASSETTE.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "GEMINI_CLI_HOME": home, "GEMINI_API_KEY": "demo-recording-key",
                   "GOOGLE_GEMINI_BASE_URL": server.url_for("/").rstrip("/")}
            env.pop("GOOGLE_API_KEY", None)
            subprocess.run([sys.executable, "-m", "gemini_cli", "--record", str(CASSETTE), "generate", "--no-save",
                            "--no-stdin", "How does AI work?"], env=env, check=True, stdout=subprocess.DEVNULL)
    finally:
        server.stop()
    # Headers that vary by machine and date are not part of the demo.
    lines = []
    for line in CASSETTE.read_text().splitlines():
        exchange = json.loads(line)
        exchange["request"]["headers"] = [h for h in exchange["request"]["headers"] if h[0].lower() not in ("user-agent", "host")]
        exchange["response"]["headers"] = [h for h in exchange["response"]["headers"] if h[0].lower() not in ("date", "server")]
        lines.append(json.dumps(exchange, ensure_ascii=False))
    CASSETTE.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
