"""MCP servers through the flags and the config (issue 22), end to end: `generate` with the SDK
test server (tests/mcp_server.py) over stdio and streamable HTTP, its tools called by the
loopback fake API. The declarations, the results sent back, --mcp-allow, --mcp-config with a
Claude-style file, `mcpServers:` in the config, a server that fails to start (exit 2 before
anything is sent), header values never written, and Ctrl-C leaving no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import API_KEY, run_checked as run, text_events
from gemini_cli.errors import ExitCode
from test_function_calls import THOUGHT, call_events, fcall, fresult, saved, turns
from test_mcp_client import ROOT, SERVER, gone, http_url, local  # noqa: F401 (http_url: the fixture)

ECHO_DECL = {"type": "function", "name": "t__echo", "description": "Echo the text back",
             "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}


def body_of(stdout: str) -> dict:
    return json.loads(stdout[stdout.index("{"):])


def test_a_stdio_server_s_tools_are_declared_and_called_through_the_flags(api, home):
    api.stream(call_events("v1_m1", fcall("c1", "t__echo", text="over stdio"), fcall("c2", "t__stats")))
    api.stream(text_events("ok", interaction_id="v1_m2"))
    result = run(["generate", "--mcp", local(), "--mcp-allow", "t:echo", "--mcp-allow", "t:stats", "Use them"])
    assert (result.exit_code, result.stdout) == (0, "ok\n"), result.stderr
    assert result.stderr == '→ t__echo(text="over stdio")\n→ t__stats()\n← 1 line\n← JSON object\n'
    first, second = api.bodies()
    assert first["tools"] == [ECHO_DECL, {"type": "function", "name": "t__stats", "description": "Counts, as structured content",
                                          "parameters": {"type": "object", "properties": {}}}]
    assert second["input"] == [fresult("c1", "t__echo", "over stdio"), fresult("c2", "t__stats", {"count": 3, "ok": True})]
    assert sys.executable not in json.dumps(saved(home))  # the server's command is not remembered


def test_an_mcp_error_result_and_a_defs_schema_cleaned(api, home):
    api.stream(call_events("v1_d1", fcall("c1", "t__fail"), fcall("c2", "t__create_node", at={"x": 1, "y": 2})))
    api.stream(text_events("fine", interaction_id="v1_d2"))
    result = run(["generate", "--mcp", local(), "--mcp-allow", "t:fail", "--mcp-allow", "t:create_node", "Go"])
    assert result.exit_code == 0, result.stderr
    node = api.bodies()[0]["tools"][1]
    assert node["name"] == "t__create_node" and "$defs" not in json.dumps(node) and "$ref" not in json.dumps(node)
    assert node["parameters"]["properties"]["at"]["properties"] == {"x": {"type": "number"}, "y": {"type": "number"}}
    assert api.bodies()[1]["input"] == [fresult("c1", "t__fail", "boom: no such thing", is_error=True),
                                        fresult("c2", "t__create_node", "node at 1,2")]
    assert "← error: 1 line\n" in result.stderr


def test_mcp_config_with_a_claude_style_file_and_mcp_servers_in_the_config(api, home, tmp_path):
    claude = tmp_path / "claude_desktop_config.json"
    claude.write_text(json.dumps({"mcpServers": {"desk": {"command": sys.executable, "args": [str(SERVER)],
                                                          "env": {"GREETING": "from the file"}}}}))
    (home / "config.yaml").write_text(f"retry_delay: 0.01\nmcpServers:\n  cfg:\n    command: {sys.executable}\n"
                                      f"    args: [{SERVER}]\n    includeTools: [pid]\n")
    result = run(["generate", "--dry-run", "--mcp-config", str(claude), "--mcp-allow", "desk:env", "Hi"])
    assert result.exit_code == 0, result.stderr
    assert [t["name"] for t in body_of(result.stdout)["tools"]] == ["cfg__pid", "desk__env"]
    api.stream(call_events("v1_k1", fcall("c1", "desk__env", name="GREETING")))
    api.stream(text_events("ok", interaction_id="v1_k2"))
    result = run(["generate", "--mcp-config", str(claude), "--mcp-allow", "desk:env", "Greeting?"])
    assert result.exit_code == 0, result.stderr
    assert api.bodies()[1]["input"] == [fresult("c1", "desk__env", "from the file")]


def test_a_server_that_fails_to_start_is_exit_2_before_anything_is_sent(api, home):
    result = run(["generate", "--mcp", local("bad", "--fail-start"), "Hi"])
    assert result.exit_code == ExitCode.USAGE
    assert api.bodies() == [] and result.stdout == ""
    assert "cannot open the database: permission denied" in result.stderr  # its stderr, on failure only
    assert result.stderr.splitlines()[-1].startswith("gemini-cli: error: MCP server bad (--mcp: ")


def test_a_name_clash_between_a_function_and_an_mcp_tool_is_exit_2(api, home):
    result = run(["generate", "--mcp", local(), "--mcp-allow", "t:pid", "--function", "t__pid=true", "Hi"])
    assert result.exit_code == ExitCode.USAGE and api.bodies() == []
    assert "'t__pid' is declared twice" in result.stderr


def test_header_values_are_never_written_anywhere(api, home, http_url, tmp_path, monkeypatch):  # noqa: F811
    secret = "tok-very-secret-4242"
    monkeypatch.setenv("WEB_TOKEN", secret)
    flags = ["--mcp", f"web={http_url}", "--mcp-header", "web:X-Token=env:WEB_TOKEN", "--mcp-allow", "web:headers"]
    dry = run(["generate", "--dry-run", *flags, "Hi"])
    assert dry.exit_code == 0 and secret not in dry.stdout + dry.stderr
    assert [t["name"] for t in body_of(dry.stdout)["tools"]] == ["web__headers"]
    api.stream(call_events("v1_h1", fcall("c1", "web__headers")))
    api.stream(text_events("seen", interaction_id="v1_h2"))
    cassette = tmp_path / "cassette.jsonl"
    result = run(["--record", str(cassette), "generate", "-o", "json", *flags, "Headers?"])
    assert result.exit_code == 0, result.stderr
    assert api.bodies()[1]["input"] == [fresult("c1", "web__headers", {"x-token": "<redacted>"})]  # it was echoed
    written = [result.stdout, result.stderr, cassette.read_text(), json.dumps(saved(home)),
               *(p.read_text(errors="replace") for p in home.rglob("*") if p.is_file())]
    assert not any(secret in text for text in written)
    assert json.loads(result.stdout)["output_text"] == "seen"


def test_ctrl_c_during_an_mcp_call_leaves_no_process_behind(api, home, tmp_path):
    """generate in a child process: the model calls t__pid, then t__hang; SIGINT while it hangs."""
    api.stream(call_events("v1_i1", fcall("c1", "t__pid")))
    api.stream(call_events("v1_i2", fcall("c2", "t__hang")))
    env = {**os.environ, "GEMINI_CLI_HOME": str(home), "GEMINI_API_KEY": API_KEY,
           "GOOGLE_GEMINI_BASE_URL": api.base_url}
    child = subprocess.Popen([sys.executable, "-m", "gemini_cli", "generate", "--mcp", local(), "--mcp-allow", "t:pid",
                              "--mcp-allow", "t:hang", "Hang"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 20
        while len(api.bodies()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(api.bodies()) == 2, "the second hop was not asked for"
        pid = int(api.bodies()[1]["input"][0]["result"])
        time.sleep(0.2)  # the hanging call is under way
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=20)
    finally:
        child.kill()
    assert child.returncode == ExitCode.SIGINT, err
    deadline = time.monotonic() + 5
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(pid)
    assert [t[:2] for t in turns(home)] == [("v1_i1", "requires_action"), ("v1_i2", "requires_action")]


def test_a_piped_chat_starts_its_mcp_server_once_for_every_message_and_stops_it(api, home):
    for n in (1, 2):
        api.stream(call_events(f"v1_c{n}a", fcall(f"c{n}", "t__pid")))
        api.stream(text_events(f"turn {n}", interaction_id=f"v1_c{n}b"))
    result = run(["chat", "--mcp", local(), "--mcp-allow", "t:pid"], input="first\nsecond\n")
    assert (result.exit_code, result.stdout) == (0, "turn 1\nturn 2\n"), result.stderr
    bodies = api.bodies()
    pids = {int(bodies[n]["input"][0]["result"]) for n in (1, 3)}
    assert len(pids) == 1  # one server for the session
    [pid] = pids
    deadline = time.monotonic() + 5
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(pid)


def test_an_image_result_and_a_server_dying_mid_call_through_the_api_stateless(api, home):
    """End to end, --no-store: an image tool's result goes back as content blocks; a server that
    dies during a call gives an error result naming it, and the turn goes on."""
    api.stream(call_events("v1_x1", fcall("c1", "t__image")))  # one hop each: a parallel crash would take the
    api.stream(call_events("v1_x2", fcall("c2", "t__crash")))  # image call down with it
    api.stream(text_events("A dot, and the server is gone.", interaction_id="v1_x3"))
    result = run(["generate", "--no-store", "--mcp", local(), "--mcp-allow", "t:image", "--mcp-allow", "t:crash",
                  "Look"])
    assert (result.exit_code, result.stdout) == (0, "A dot, and the server is gone.\n"), result.stderr
    first, _, third = api.bodies()
    assert "previous_interaction_id" not in third and third["input"][0] == first["input"][0]  # the history, resent
    image, crash = [s for s in third["input"] if s.get("type") == "function_result"]
    assert image["call_id"] == "c1" and image["result"][0] == {"type": "text", "text": "a dot"}
    assert image["result"][1]["type"] == "image" and image["result"][1]["mime_type"] == "image/png"
    assert crash["call_id"] == "c2" and crash["is_error"] is True and "MCP server t" in crash["result"]
    assert "about to crash" in result.stderr  # its stderr, shown because it failed
