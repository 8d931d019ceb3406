"""MCP servers the API calls itself (--remote-mcp, interactions-api.md §11): the `mcp_server`
tool sent on every turn in both multi-turn modes, its header values resolved at send time
and never written (conversation file, --dry-run, -o json, a --record cassette, errors),
--replay of a recording, -c keeping the servers, and the answer's mcp_server_tool_call /
mcp_server_tool_result steps on stderr, saved and resent verbatim."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import INTERACTION_ID, USAGE, text_events
from conftest import run_checked as run
from gemini_cli.render.tools import describe
from gemini_cli.request.mcp_servers import parse_remote
from gemini_cli.request.remote_mcp import HeaderFiller

TOKEN = "tok-9d8c7b6a5f4e3d2c1b0a"  # a header value: never on stdout, stderr or in a file
URL = "https://docs.example.com/mcp"
DOCS = ["--remote-mcp", f"docs={URL}", "--mcp-header", "docs:Authorization=env:DOCS_TOKEN"]
CALL = {"type": "mcp_server_tool_call", "id": "mcp_1", "name": "search", "server_name": "docs",
        "arguments": {"query": "auth tokens"}}
RESULT = {"type": "mcp_server_tool_result", "call_id": "mcp_1", "name": "search", "server_name": "docs",
          "result": [{"type": "text", "text": "Use a bearer token.\nRotate it monthly.\nNever log it."}]}
ANSWER_STEP = {"type": "model_output", "content": [{"type": "text", "text": "Send a bearer token."}]}
USER1 = {"type": "user_input", "content": [{"type": "text", "text": "How do I authenticate?"}]}
USER2 = {"type": "user_input", "content": [{"type": "text", "text": "And rotate?"}]}
SENT_TOOL = {"type": "mcp_server", "name": "docs", "url": URL, "headers": {"Authorization": TOKEN}}
SAVED_TOOL = {"type": "mcp_server", "name": "docs", "url": URL, "headers": {"Authorization": "env:DOCS_TOKEN"}}
CALL_LINE = '→ docs.search(query="auth tokens")\n'
RESULT_LINE = "← docs.search: 3 lines\n"


@pytest.fixture(autouse=True)
def docs_token(monkeypatch):
    monkeypatch.setenv("DOCS_TOKEN", TOKEN)


def mcp_events(interaction_id: str = INTERACTION_ID, echo_tools: list | None = None) -> list[dict]:
    """A streamed answer: the call and result steps (skeleton, one delta, stop), then the text."""
    created = {"id": interaction_id, "status": "in_progress", "object": "interaction"}
    if echo_tools is not None:  # the server may echo the request's fields
        created["tools"] = echo_tools
    events = [{"event_type": "interaction.created", "event_id": "e0", "interaction": created}]
    for index, step in enumerate((CALL, RESULT)):
        skeleton = {"type": step["type"], **({"id": step["id"]} if "id" in step else {"call_id": step["call_id"]})}
        delta = {k: v for k, v in step.items() if k not in ("id", "call_id")}
        events += [{"event_type": "step.start", "index": index, "step": skeleton},
                   {"event_type": "step.delta", "index": index, "delta": delta},
                   {"event_type": "step.stop", "index": index}]
    events += [{"event_type": "step.start", "index": 2, "step": {"type": "model_output"}},
               {"event_type": "step.delta", "index": 2, "delta": {"type": "text", "text": "Send a bearer token."}},
               {"event_type": "step.stop", "index": 2},
               {"event_type": "interaction.completed", "event_id": "e9",
                "interaction": {"id": interaction_id, "status": "completed", "object": "interaction", "usage": USAGE}}]
    return events


def saved_file(home: Path) -> Path:
    files = [p for p in (home / "conversations").glob("*.json") if not p.name.startswith(".")]
    assert len(files) == 1, files
    return files[0]


def assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text


# -- the request, and what is never written --------------------------------------------------------


def test_dry_run_shows_references_never_values(api):
    result = run(["generate", "--dry-run", *DOCS, "--mcp-header", "docs:X-Team=cmd:false",
                  "--mcp-allow", "docs:search", "--mcp-allow", "docs:fetch", "hi"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout.split("\n\n", 1)[1])
    assert body["tools"] == [{"type": "mcp_server", "name": "docs", "url": URL,
                              "headers": {"Authorization": "env:DOCS_TOKEN", "X-Team": "cmd:false"},
                              "allowed_tools": [{"tools": ["search", "fetch"]}]}]
    assert result.stderr == ""  # cmd:false was never run: --dry-run resolves nothing
    assert_no_token(result.stdout)
    assert api.requests() == []


def test_literal_header_warns_once_and_is_redacted_in_dry_run(api):
    result = run(["generate", "--dry-run", "--remote-mcp", f"docs={URL}", "--mcp-header", f"docs:Authorization={TOKEN}", "hi"])
    assert result.exit_code == 0
    body = json.loads(result.stdout.split("\n\n", 1)[1])
    assert body["tools"][0]["headers"] == {"Authorization": "<redacted>"}
    assert result.stderr == ("gemini-cli: warning: MCP server docs: header Authorization is a literal value; prefer "
                             "env:VAR or cmd:COMMAND (it is never written to a file, but it is in your shell history "
                             "or config)\n")
    assert_no_token(result.stdout)


def test_generate_sends_values_shows_steps_and_saves_references(api, home):
    api.stream(mcp_events())
    result = run(["generate", *DOCS, "How do I authenticate?"])
    assert (result.exit_code, result.stdout) == (0, "Send a bearer token.\n"), result.stderr
    assert result.stderr == CALL_LINE + RESULT_LINE
    assert api.bodies()[0]["tools"] == [SENT_TOOL]
    text = saved_file(home).read_text()
    assert_no_token(text)
    saved = json.loads(text)
    assert saved["remote_mcp"] == [{"name": "docs", "url": URL, "headers": {"Authorization": "env:DOCS_TOKEN"}}]
    assert saved["tools"] == []  # the --tool list; remote servers are kept apart, as references
    assert saved["turns"][0]["steps"] == [CALL, RESULT, ANSWER_STEP]


def test_quiet_silences_the_step_lines(api):
    api.stream(mcp_events())
    result = run(["generate", "-q", *DOCS, "How do I authenticate?"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Send a bearer token.\n", "")


def test_json_output_never_holds_a_value_even_when_the_server_echoes_it(api):
    api.stream(mcp_events(echo_tools=[SENT_TOOL]))
    result = run(["generate", "-o", "json", *DOCS, "How do I authenticate?"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["tools"] == [{**SENT_TOOL, "headers": {"Authorization": "<redacted>"}}]
    assert document["steps"] == [CALL, RESULT, ANSWER_STEP]
    assert result.stderr == ""  # nothing on stderr in -o json
    assert_no_token(result.stdout)


def test_jsonl_output_redacts_an_echoed_value(api):
    api.stream(mcp_events(echo_tools=[SENT_TOOL]))
    result = run(["generate", "-o", "jsonl", *DOCS, "How do I authenticate?"])
    assert result.exit_code == 0, result.stderr
    first = json.loads(result.stdout.splitlines()[0])
    assert first["interaction"]["tools"][0]["headers"] == {"Authorization": "<redacted>"}
    assert_no_token(result.stdout)


def test_an_error_echoing_the_value_is_redacted(api, home):
    api.error(400, f"MCP server refused Authorization {TOKEN}", "INVALID_ARGUMENT")
    result = run(["generate", *DOCS, "hi"])
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == "gemini-cli: error: HTTP 400 INVALID_ARGUMENT: MCP server refused Authorization <redacted>\n"
    api.error(400, f"MCP server refused Authorization {TOKEN}", "INVALID_ARGUMENT")
    document = run(["generate", "-o", "json", *DOCS, "hi"])
    assert document.exit_code == 4
    assert json.loads(document.stdout)["error"]["message"] == ("HTTP 400 INVALID_ARGUMENT: MCP server refused "
                                                               "Authorization <redacted>")


def test_a_header_from_cmd_is_run_at_send_time(api, tmp_path):
    script = tmp_path / "token.py"
    script.write_text(f"print('{TOKEN}')\n")
    api.stream(mcp_events())
    result = run(["generate", "--remote-mcp", f"docs={URL}", "--mcp-header",
                  f"docs:Authorization=cmd:{sys.executable} {script}", "hi"])
    assert result.exit_code == 0, result.stderr
    assert api.bodies()[0]["tools"] == [SENT_TOOL]
    assert_no_token(result.stdout, result.stderr)


def test_a_missing_variable_exits_2_before_anything_is_sent(api, monkeypatch, home):
    monkeypatch.delenv("DOCS_TOKEN")
    result = run(["generate", *DOCS, "hi"])
    assert result.exit_code == 2
    assert result.stderr == ("gemini-cli: error: MCP server docs: header Authorization: environment variable "
                             "DOCS_TOKEN is not set\n")
    assert api.requests() == []
    assert not [p for p in home.glob("conversations/*.json") if not p.name.startswith(".")]  # nothing saved


def test_a_failing_cmd_never_shows_its_output(api, tmp_path):
    script = tmp_path / "token.py"
    script.write_text(f"import sys\nprint('{TOKEN}')\nsys.exit(3)\n")
    result = run(["generate", "--remote-mcp", f"docs={URL}", "--mcp-header",
                  f"docs:Authorization=cmd:{sys.executable} {script}", "hi"])
    assert result.exit_code == 2
    assert "MCP server docs: header Authorization: cmd:" in result.stderr
    assert "failed (exit 3)" in result.stderr
    assert api.requests() == []
    assert_no_token(result.stderr)


@pytest.mark.parametrize("args, message", [
    (["--remote-mcp", "docs=localhost:8080"], "--remote-mcp docs: a remote MCP server is a URL (http:// or https://), got 'localhost:8080'"),
    (["--remote-mcp", "docs"], "--remote-mcp 'docs': expected NAME=URL"),
    (["--remote-mcp", "none", "--remote-mcp", f"docs={URL}"], "--remote-mcp none means no remote MCP servers"),
    (["--mcp-header", "web:A=env:X"], "--mcp-header names MCP server 'web', which no --mcp, --remote-mcp or config names"),
    (["--remote-mcp", f"docs={URL}", "--mcp-allow", "web:search"], "--mcp-allow names MCP server 'web'"),
])
def test_bad_remote_flags_exit_2(api, args, message):
    result = run(["generate", *args, "hi"])
    assert result.exit_code == 2
    assert result.stderr.startswith("gemini-cli: error: ") and message in result.stderr, result.stderr
    assert api.requests() == []


# -- both multi-turn modes, and -c -------------------------------------------------------------------


def test_server_mode_second_turn_sends_the_same_tools(api, home):
    api.stream(mcp_events(interaction_id="v1_turn1"))
    assert run(["generate", *DOCS, "How do I authenticate?"]).exit_code == 0
    api.stream(text_events("Monthly.", interaction_id="v1_turn2"))
    # The conversation remembers the server and its header's reference; the value is filled in
    # only when this run names the header again (a file must not send our variables to its URL).
    second = run(["generate", "-c", "--mcp-header", "docs:Authorization=env:DOCS_TOKEN", "And rotate?"])
    assert (second.exit_code, second.stdout, second.stderr) == (0, "Monthly.\n", "")
    body = api.bodies()[1]
    assert body == {"model": "gemini-3-flash-preview", "input": "And rotate?", "tools": [SENT_TOOL],
                    "previous_interaction_id": "v1_turn1", "stream": True}
    assert_no_token(saved_file(home).read_text())


def test_stateless_second_turn_resends_the_steps_verbatim(api, home):
    api.stream(mcp_events(interaction_id="v1_turn1"))
    assert run(["generate", "--no-store", *DOCS, "How do I authenticate?"]).exit_code == 0
    assert api.bodies()[0]["store"] is False
    api.stream(text_events("Monthly.", interaction_id="v1_turn2"))
    second = run(["generate", "-c", "--mcp-header", "docs:Authorization=env:DOCS_TOKEN", "And rotate?"])
    assert second.exit_code == 0, second.stderr
    assert api.bodies()[1] == {"model": "gemini-3-flash-preview", "input": [USER1, CALL, RESULT, ANSWER_STEP, USER2],
                               "tools": [SENT_TOOL], "store": False, "stream": True}
    text = saved_file(home).read_text()
    assert_no_token(text)
    assert json.loads(text)["remote_mcp"] == [{"name": "docs", "url": URL, "headers": {"Authorization": "env:DOCS_TOKEN"}}]


def test_continue_uses_the_value_of_the_variable_now(api, monkeypatch):
    api.stream(mcp_events(interaction_id="v1_turn1"))
    assert run(["generate", *DOCS, "How do I authenticate?"]).exit_code == 0
    monkeypatch.setenv("DOCS_TOKEN", "tok-rotated-0000")
    api.stream(text_events("Monthly.", interaction_id="v1_turn2"))
    assert run(["generate", "-c", "--mcp-header", "docs:Authorization=env:DOCS_TOKEN", "And rotate?"]).exit_code == 0
    assert api.bodies()[1]["tools"][0]["headers"] == {"Authorization": "tok-rotated-0000"}


def test_a_remembered_env_reference_is_never_filled_in_from_the_file(api, home):
    """A conversation file (perhaps someone else's --session file) names the URL: a variable
    of ours must not be sent there on its say-so. Exit 2, nothing sent."""
    api.stream(mcp_events(interaction_id="v1_turn1"))
    assert run(["generate", *DOCS, "How do I authenticate?"]).exit_code == 0
    second = run(["generate", "-c", "And rotate?"])
    assert (second.exit_code, second.stdout) == (2, "")
    assert second.stderr == ("gemini-cli: error: MCP server docs: header Authorization comes from env:DOCS_TOKEN, which "
                             "is never filled in from a conversation file (it names the URL the value would go to): "
                             "give it again with --mcp-header docs:Authorization=env:DOCS_TOKEN (or name the server "
                             "in the config file)\n")
    assert len(api.bodies()) == 1


def test_a_remembered_literal_must_be_given_again(api, home):
    api.stream(mcp_events(interaction_id="v1_turn1"))
    first = run(["generate", "-q", "--remote-mcp", f"docs={URL}", "--mcp-header", f"docs:Authorization={TOKEN}", "hi"])
    assert first.exit_code == 0, first.stderr
    assert api.bodies()[0]["tools"] == [SENT_TOOL]
    text = saved_file(home).read_text()
    assert_no_token(text)
    assert json.loads(text)["remote_mcp"][0]["headers"] == {"Authorization": "<redacted>"}
    again = run(["generate", "-c", "And rotate?"])
    assert again.exit_code == 2
    assert "MCP server docs: header Authorization was a literal value, which is never saved: give it again with " \
           "--mcp-header docs:Authorization=env:VAR (or cmd:COMMAND)" in again.stderr
    assert len(api.requests()) == 1
    api.stream(text_events("Monthly.", interaction_id="v1_turn2"))
    given = run(["generate", "-c", "--mcp-header", "docs:Authorization=env:DOCS_TOKEN", "And rotate?"])
    assert given.exit_code == 0, given.stderr
    assert api.bodies()[1]["tools"] == [SENT_TOOL]
    assert json.loads(saved_file(home).read_text())["remote_mcp"][0]["headers"] == {"Authorization": "env:DOCS_TOKEN"}


def test_remote_mcp_none_forgets_the_servers(api, home):
    api.stream(mcp_events(interaction_id="v1_turn1"))
    assert run(["generate", *DOCS, "hi"]).exit_code == 0
    api.stream(text_events("ok", interaction_id="v1_turn2"))
    assert run(["generate", "-c", "--remote-mcp", "none", "again"]).exit_code == 0
    assert "tools" not in api.bodies()[1]
    assert "remote_mcp" not in json.loads(saved_file(home).read_text())
    api.stream(text_events("ok", interaction_id="v1_turn3"))
    assert run(["generate", "-c", "once more"]).exit_code == 0
    assert "tools" not in api.bodies()[2]


def test_builtin_tools_and_remote_servers_together(api):
    api.stream(mcp_events())
    result = run(["generate", "--tool", "google_search", *DOCS, "hi"])
    assert result.exit_code == 0, result.stderr
    assert api.bodies()[0]["tools"] == [{"type": "google_search"}, SENT_TOOL]


# -- --record and --replay ---------------------------------------------------------------------------


def test_record_keeps_values_out_and_replay_matches(api, home, tmp_path, monkeypatch):
    tape = tmp_path / "tape.jsonl"
    api.stream(mcp_events(echo_tools=[SENT_TOOL]))
    recorded = run(["--record", str(tape), "generate", *DOCS, "How do I authenticate?"])
    assert recorded.exit_code == 0, recorded.stderr
    assert api.bodies()[0]["tools"] == [SENT_TOOL]
    text = tape.read_text()
    assert_no_token(text)
    exchange = json.loads(text.splitlines()[0])
    assert exchange["request"]["body"]["tools"] == [{**SENT_TOOL, "headers": {"Authorization": "<redacted>"}}]
    monkeypatch.delenv("DOCS_TOKEN")  # a replay needs no secret: nothing is sent
    replayed = run(["--replay", str(tape), "generate", "--no-save", *DOCS, "How do I authenticate?"])
    assert (replayed.exit_code, replayed.stdout, replayed.stderr) == (recorded.exit_code, recorded.stdout, recorded.stderr)
    assert len(api.requests()) == 1


def test_record_redacts_a_short_literal_value(api, tmp_path):
    tape = tmp_path / "tape.jsonl"
    api.stream(mcp_events())
    result = run(["--record", str(tape), "generate", "-q", "--remote-mcp", f"docs={URL}", "--mcp-header", "docs:X-K=ab", "hi"])
    assert result.exit_code == 0, result.stderr
    assert api.bodies()[0]["tools"][0]["headers"] == {"X-K": "ab"}
    exchange = json.loads(tape.read_text().splitlines()[0])
    assert exchange["request"]["body"]["tools"][0]["headers"] == {"X-K": "<redacted>"}


# -- chat and batch ----------------------------------------------------------------------------------


def test_chat_sends_the_server_on_every_turn(api, home):
    api.stream(mcp_events(interaction_id="v1_turn1"))
    api.stream(text_events("Monthly.", interaction_id="v1_turn2"))
    result = run(["chat", *DOCS], input="How do I authenticate?\nAnd rotate?\n")
    assert result.exit_code == 0, result.stderr
    assert CALL_LINE in result.stderr and RESULT_LINE in result.stderr
    first, second = api.bodies()
    assert first["tools"] == second["tools"] == [SENT_TOOL]
    assert second["previous_interaction_id"] == "v1_turn1"
    assert_no_token(result.stdout, result.stderr, saved_file(home).read_text())


def test_batch_rows_carry_the_server(api, tmp_path):
    api.json({"id": "v1_r1", "status": "completed", "steps": [CALL, RESULT, ANSWER_STEP], "usage": USAGE})
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"prompt": "How do I authenticate?"}\n')
    out = tmp_path / "out.jsonl"
    result = run(["batch", str(rows), "-o", str(out), *DOCS])
    assert result.exit_code == 0, result.stderr
    assert api.bodies()[0]["tools"] == [SENT_TOOL]
    assert_no_token(out.read_text(), result.stdout, result.stderr)


# -- pure functions ----------------------------------------------------------------------------------


def test_step_lines():
    assert describe(CALL) == ['→ docs.search(query="auth tokens")']
    assert describe(RESULT) == ["← docs.search: 3 lines"]
    assert describe({"type": "mcp_server_tool_result", "call_id": "x", "result": {"hits": 2}}) == ["← mcp: JSON object"]
    assert describe({"type": "mcp_server_tool_result", "call_id": "x", "name": "s", "result": ""}) == ["← s: empty"]
    images = [{"type": "image", "data": "AA==", "mime_type": "image/png"}] * 2
    assert describe({**RESULT, "result": images}) == ["← docs.search: 2 images"]
    hostile = {**CALL, "name": "se\x1b[2Jarch\nx", "arguments": {"q": "a" * 100}}
    assert describe(hostile) == ['→ docs.se^[[2Jarch x(q="' + "a" * 58 + '…)']  # one line, the escape shown


def test_header_filler_fills_only_its_servers_tools():
    docs = parse_remote(f"docs={URL}")
    from dataclasses import replace

    from gemini_cli.request.mcp_spec import HeaderValue

    docs = replace(docs, headers={"Authorization": HeaderValue("literal", TOKEN)})
    kept: list[str] = []
    filler = HeaderFiller([docs], kept.extend)
    body = {"input": "x", "tools": [{"type": "google_search"}, {**SAVED_TOOL, "headers": {"Authorization": "<redacted>"}},
                                    {"type": "mcp_server", "name": "other", "url": URL}]}
    sent = filler(body)
    assert sent["tools"] == [{"type": "google_search"}, SENT_TOOL, {"type": "mcp_server", "name": "other", "url": URL}]
    assert body["tools"][1]["headers"] == {"Authorization": "<redacted>"}  # the kept body is never changed
    assert filler({"input": "no tools"}) == {"input": "no tools"}
    assert kept == [TOKEN]
    assert HeaderFiller([docs], kept.extend, replaying=True)(body)["tools"][1]["headers"] == {"Authorization": "<redacted>"}


# -- mcpServers in the config file, a profile, a template ----------------------------------------------


def test_remote_entries_of_the_config_file_and_a_profile(api, home):
    (home / "config.yaml").write_text(
        "retry_delay: 0.01\n"
        "mcpServers:\n"
        f"  docs: {{url: '{URL}', remote: true, headers: {{Authorization: '$DOCS_TOKEN'}}, includeTools: [search]}}\n"
        "profiles:\n"
        "  wiki:\n"
        "    mcpServers:\n"
        "      wiki: {url: 'https://wiki.example.com/mcp', remote: true, headers: {Authorization: 'Bearer ${DOCS_TOKEN}'}}\n")
    api.stream(mcp_events(interaction_id="v1_turn1"))
    result = run(["generate", "How do I authenticate?"])
    assert result.exit_code == 0, result.stderr
    assert api.bodies()[0]["tools"] == [{**SENT_TOOL, "allowed_tools": [{"tools": ["search"]}]}]
    api.stream(text_events("ok", interaction_id="v1_turn2"))
    assert run(["generate", "--profile", "wiki", "hi"]).exit_code == 0  # the profile's mapping adds to the file's
    assert api.bodies()[1]["tools"] == [{**SENT_TOOL, "allowed_tools": [{"tools": ["search"]}]},
                                        {"type": "mcp_server", "name": "wiki", "url": "https://wiki.example.com/mcp",
                                         "headers": {"Authorization": f"Bearer {TOKEN}"}}]
    saved = [json.loads(path.read_text()) for path in home.glob("conversations/*.json") if not path.name.startswith(".")]
    assert sorted(server["headers"]["Authorization"] for c in saved for server in c["remote_mcp"]) == [
        "env:DOCS_TOKEN", "env:DOCS_TOKEN", "template:Bearer ${DOCS_TOKEN}"]  # references: the values are filled in when sent
    for path in home.glob("conversations/*.json"):
        assert_no_token(path.read_text())


def test_a_template_names_a_remote_server(api, home, tmp_path):
    template = tmp_path / "ask.yaml"
    template.write_text(f"prompt: 'Docs: {{input}}'\nmcpServers:\n  docs: {{httpUrl: '{URL}', remote: true,"
                        " headers: {Authorization: '${DOCS_TOKEN}'}}\n")
    api.stream(mcp_events())
    result = run(["generate", "-t", str(template), "auth"])
    assert result.exit_code == 0, result.stderr
    assert api.bodies()[0]["tools"] == [SENT_TOOL]
    assert api.bodies()[0]["input"] == "Docs: auth"


def test_a_bad_config_entry_exits_2_naming_it(api, home):
    (home / "config.yaml").write_text("mcpServers:\n  docs: {url: 'ftp://x', remote: true}\n")
    result = run(["generate", "hi"])
    assert result.exit_code == 2
    assert result.stderr == (f"gemini-cli: error: config file {home / 'config.yaml'}: MCP server docs: bad URL 'ftp://x' "
                             "(give http:// or https://HOST[/PATH])\n")
    assert api.requests() == []


def test_config_show_redacts_a_literal_header_value(home):
    (home / "config.yaml").write_text(
        "mcpServers:\n"
        f"  docs: {{url: '{URL}', remote: true, headers: {{Authorization: 'Bearer {TOKEN}', X-Team: '$TEAM', X-Id: 'env:ID'}}}}\n")
    (home / "config.yaml").chmod(0o600)
    result = run(["config", "show"])
    assert result.exit_code == 0, result.stderr
    line, = [line for line in result.stdout.splitlines() if line.startswith("mcpServers:")]
    assert line == ("mcpServers: {docs: {headers: {Authorization: <redacted>, X-Id: 'env:ID', X-Team: $TEAM}, "
                    f"remote: true, url: '{URL}'}}}}  # config file")
    assert_no_token(result.stdout, result.stderr)


def test_a_whole_answer_shows_the_same_lines(api, home):
    api.json({"id": "v1_turn1", "status": "completed", "steps": [CALL, RESULT, ANSWER_STEP], "usage": USAGE})
    result = run(["generate", "--no-stream", *DOCS, "How do I authenticate?"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Send a bearer token.\n", CALL_LINE + RESULT_LINE)
    assert api.bodies()[0]["tools"] == [SENT_TOOL]
    assert json.loads(saved_file(home).read_text())["turns"][0]["steps"] == [CALL, RESULT, ANSWER_STEP]


# -- every hop of a tool loop ------------------------------------------------------------------------

WEATHER = {"type": "function", "name": "get_weather", "description": "The weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
FUNCTION_CALL = {"type": "function_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
FUNCTION_RESULT = {"type": "function_result", "call_id": "call_1", "name": "get_weather", "result": "sunny"}


class OneFunction:
    """A ToolLoop (runs/pipeline.py) answering every function_call with FUNCTION_RESULT."""

    def declarations(self):
        return [WEATHER]

    def pending(self, conversation):
        return []

    def answer(self, result):
        return [FUNCTION_RESULT for step in result["steps"] if step.get("type") == "function_call"]

    def after(self):
        return None


@pytest.mark.parametrize("store", [[], ["--no-store"]], ids=["server", "stateless"])
def test_every_hop_of_a_tool_loop_carries_the_filled_in_tool(api, home, monkeypatch, store):
    from gemini_cli.runs import pipeline

    original = pipeline.run_turn
    monkeypatch.setattr(pipeline, "run_turn", lambda *a, **k: original(*a, **{**k, "tools": OneFunction()}))
    api.json({"id": "v1_hop1", "status": "requires_action", "steps": [CALL, RESULT, FUNCTION_CALL]})
    api.json({"id": "v1_hop2", "status": "completed", "steps": [ANSWER_STEP]})
    result = run(["generate", "--no-stream", *store, *DOCS, "How do I authenticate?"])
    assert (result.exit_code, result.stdout) == (0, "Send a bearer token.\n"), result.stderr
    first, second = api.bodies()
    assert first["tools"] == second["tools"] == [SENT_TOOL, WEATHER]
    if store:  # stateless: the first hop's steps, MCP ones included, resent verbatim
        assert second["input"] == [USER1, CALL, RESULT, FUNCTION_CALL, FUNCTION_RESULT]
    else:
        assert (second["input"], second["previous_interaction_id"]) == ([FUNCTION_RESULT], "v1_hop1")
    assert_no_token(saved_file(home).read_text())


def test_a_batch_job_refuses_a_remote_server(api, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"prompt": "hi"}\n')
    result = run(["batch", str(rows), "-o", str(tmp_path / "out.jsonl"), "--remote", *DOCS])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gemini-cli: error: MCP servers (--mcp, --remote-mcp) cannot be used in a batch job\n"
    assert api.requests() == []


def test_a_conversation_file_never_runs_a_remembered_cmd(api, home, tmp_path):
    script, marker = tmp_path / "token.py", tmp_path / "ran"
    script.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\nprint('{TOKEN}')\n")
    command = f"cmd:{sys.executable} {script}"
    api.stream(mcp_events(interaction_id="v1_turn1"))
    assert run(["generate", "--remote-mcp", f"docs={URL}", "--mcp-header", f"docs:Authorization={command}", "hi"]).exit_code == 0
    assert marker.exists() and api.bodies()[0]["tools"] == [SENT_TOOL]
    assert json.loads(saved_file(home).read_text())["remote_mcp"][0]["headers"] == {"Authorization": command}
    marker.unlink()
    again = run(["generate", "-c", "And rotate?"])
    assert again.exit_code == 2
    assert again.stderr == (f"gemini-cli: error: MCP server docs: header Authorization comes from {command}, which is "
                            "never run from a conversation file: give it again with --mcp-header "
                            "docs:Authorization=cmd:... (or name the server in the config file)\n")
    assert not marker.exists() and len(api.requests()) == 1
    api.stream(text_events("Monthly.", interaction_id="v1_turn2"))
    given = run(["generate", "-c", "--mcp-header", f"docs:Authorization={command}", "And rotate?"])
    assert given.exit_code == 0, given.stderr
    assert marker.exists() and api.bodies()[1]["tools"] == [SENT_TOOL]
    assert json.loads(saved_file(home).read_text())["remote_mcp"][0]["headers"] == {"Authorization": command}
