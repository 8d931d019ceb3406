"""Every request body the tool can send, checked against a strict schema of the create request
(tests/data/interactions_request.schema.json, written from the API reference by
tests/data/make_request_schema.py; additionalProperties false on every object): all flags,
all content block types, and stateless replay of every step and delta type.

The bodies are the ones a loopback server received, not ones built in-process."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conftest import INTERACTION_ID, USAGE, interaction, sse, text_events
from conftest import run_checked as run

DATA = Path(__file__).parent / "data"
SCHEMA = json.loads((DATA / "interactions_request.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)
SIG = "Ev8BCvwBAXLI2nz+/9Qk0=="
B64 = base64.b64encode(b"\x00\x01binary").decode()


def problems(body: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}" for e in VALIDATOR.iter_errors(body)]


def assert_valid(bodies: list[dict]) -> None:
    assert bodies, "no request was received"
    for body in bodies:
        assert problems(body) == [], json.dumps(body)[:2000]


def test_the_schema_file_is_what_the_generator_writes():
    check = subprocess.run([sys.executable, str(DATA / "make_request_schema.py"), "--check"])
    assert check.returncode == 0, "run tests/data/make_request_schema.py and commit the result"
    Draft202012Validator.check_schema(SCHEMA)


def _objects(node, path="$"):
    if isinstance(node, dict):
        if "properties" in node:
            yield path, node
        for key, value in node.items():
            yield from _objects(value, f"{path}.{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _objects(value, f"{path}[{n}]")


def test_every_object_in_the_schema_is_closed():
    objects = list(_objects(SCHEMA))
    assert len(objects) > 60
    assert [path for path, node in objects if node.get("additionalProperties") is not False] == []


@pytest.mark.parametrize("body, where", [
    ({"model": "m", "input": "hi", "temprature": 1}, "(top)"),
    ({"model": "m", "input": "hi", "generation_config": {"thinking": "low"}}, "generation_config"),
    ({"model": "m", "input": [{"type": "model_output", "content": [{"type": "text", "text": "a"}],
                                "unknown_deltas": [{"type": "hologram"}]}]}, "input"),
    ({"model": "m", "input": [{"type": "model_output", "content": [{"type": "audio", "data": "AA==", "rate": 24000}]}]}, "input"),
    ({"model": "m", "agent": "a", "input": "hi"}, "(top)"),
    ({"agent": "a", "input": "hi", "generation_config": {}}, "(top)"),
])
def test_the_schema_rejects_keys_the_api_does_not_define(body, where):
    found = problems(body)
    assert found and any(p.startswith(where) for p in found)


# -- every flag -------------------------------------------------------------------------------

SCHEMA_ARG = '{"type": "object", "properties": {"a": {"type": "integer"}}}'
FLAG_SETS = [
    [],
    ["-s", "Be brief.", "--temperature", "0.5", "--top-p", "0.9", "--seed", "7", "--max-tokens", "10", "--stop", "X", "--stop", "Y"],
    *[["--thinking", level, "--thoughts"] for level in ("minimal", "low", "medium", "high", "xhigh")],
    ["--tool", "google_search", "--tool", "code_execution", "--tool", "url_context"],
    ["--schema", SCHEMA_ARG], ["--json"],
    ["--image", "--aspect-ratio", "21:9", "--image-size", "4K"], ["--audio", "--voice", "Kore"], ["--json", "--image", "--audio"],
    *[["--service-tier", tier] for tier in ("flex", "standard", "priority", "deferred")],
    ["--no-stream"], ["--no-store"], ["--previous-interaction-id", "v1_parent"],
    ["--remote-mcp", "docs=https://docs.example.com/mcp", "--mcp-header", "docs:Authorization=cmd:echo Bearer-x",
     "--mcp-allow", "docs:search", "--tool", "url_context"],
    ["--agent", "deep-research-preview-04-2026"],
    ["--agent", "deep-research-preview-04-2026", "--body-extra", json.dumps({
        "agent_config": {"type": "deep-research", "visualization": "auto", "thinking_summaries": "auto"}, "environment": "env_1"})],
    ["--body-extra", json.dumps({
        "labels": {"team": "docs"}, "webhook_config": {"uris": ["https://example.com/hook"], "user_metadata": {"k": 1}},
        "safety_settings": [{"type": "jailbreak", "threshold": "off"}, {"type": "harassment", "threshold": "block_only_high", "method": "severity"}],
        "generation_config": {"tool_choice": "auto", "speech_config": {"speakers": [{"voice": "Kore", "speaker": "A"}]}}})],
]


@pytest.mark.parametrize("flags", FLAG_SETS, ids=lambda flags: " ".join(flags)[:40] or "plain")
def test_every_flag_sends_a_valid_body(api, flags, tmp_path):
    if "--no-stream" in flags:
        api.json(interaction("{}"))
    else:
        api.stream(text_events("{}"))
    result = run(["generate", "--no-save", "--media-dir", str(tmp_path), *flags, "hi"])
    assert result.exit_code == 0, result.stderr
    assert_valid(api.bodies())


def test_background_and_agent_in_the_background(api):
    api.json({"id": "v1_bg", "status": "in_progress"})
    api.json({"id": "v1_ag", "status": "in_progress"})
    assert run(["generate", "--no-save", "--background", "--thinking", "low", "hi"]).exit_code == 0
    assert run(["generate", "--no-save", "--no-stream", "--agent", "deep-research-preview-04-2026", "hi"]).exit_code == 0
    assert_valid(api.bodies())


@pytest.mark.parametrize("store", [[], ["--no-store"]], ids=["stored", "stateless"])
def test_continuation_hops(api, store):
    hop1 = text_events("Part one. ", status="requires_continuation", extra={"continuation_token": "tok1"})
    api.stream(hop1)
    api.stream(text_events("Part two.", interaction_id="v1_hop2"))
    result = run(["generate", "--no-save", "--thinking", "low", *store, "hi"])
    assert (result.exit_code, result.stdout) == (0, "Part one. Part two.\n")
    second = api.bodies()[1]
    assert second["continuation_token"] == "tok1" and ("input" in second) == bool(store)
    assert_valid(api.bodies())


def test_every_attachment_block_type(api, tmp_path):
    files = {"a.png": b"\x89PNG\r\n\x1a\n" + bytes(20), "a.wav": b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(20),
             "a.mp4": bytes(4) + b"ftypisom" + bytes(20), "a.pdf": b"%PDF-1.4\n" + bytes(20), "a.txt": b"some text\n"}
    args = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        args += ["-a", str(tmp_path / name)]
    api.stream(text_events("ok"))
    result = run(["generate", "--no-save", *args, "-a", "https://example.com/cat.jpg", "what are these?"])
    assert result.exit_code == 0, result.stderr
    body = api.bodies()[0]
    # server mode too: the content list goes in one user_input step, as the SDK sends it
    [step] = body["input"]
    assert step["type"] == "user_input"
    assert sorted({block["type"] for block in step["content"]}) == ["audio", "document", "image", "text", "video"]
    assert any("uri" in block for block in step["content"])
    assert_valid([body])


# -- stateless replay of every step and delta type ------------------------------------------------


def streamed_everything() -> list[dict]:
    """One streamed turn with every step type and every delta type of the reference, plus an
    unknown delta type and an audio delta's deprecated `rate`."""
    steps = [
        ({"type": "thought"}, [{"type": "thought_summary", "content": {"type": "text", "text": "Hmm"}},
                               {"type": "thought_summary", "content": {"type": "image", "data": B64, "mime_type": "image/png"}},
                               {"type": "thought_signature", "signature": SIG}]),
        ({"type": "function_call", "id": "fc_1", "name": "f", "arguments": {}},
         [{"type": "arguments_delta", "arguments": '{"a": '}, {"type": "arguments_delta", "arguments": "1}"}]),
        ({"type": "function_result", "call_id": "fc_1"}, [{"type": "function_result", "result": {"ok": True}, "name": "f", "is_error": False}]),
        ({"type": "code_execution_call", "id": "c1"}, [{"type": "code_execution_call", "arguments": {"code": "print(1)", "language": "python"}, "signature": SIG}]),
        ({"type": "code_execution_result", "call_id": "c1"}, [{"type": "code_execution_result", "result": "1\n", "is_error": False, "signature": SIG}]),
        ({"type": "url_context_call", "id": "u1", "signature": ""}, [{"type": "url_context_call", "arguments": {"urls": ["https://a.b"]}, "signature": SIG}]),
        ({"type": "url_context_result", "call_id": "u1"}, [{"type": "url_context_result", "result": [{"url": "https://a.b", "status": "success"}], "is_error": False}]),
        ({"type": "google_search_call", "id": "g1", "signature": ""}, [{"type": "google_search_call", "arguments": {"queries": ["q"]}, "signature": SIG}]),
        ({"type": "google_search_result", "call_id": "g1", "signature": ""}, [{"type": "google_search_result", "result": [{"search_suggestions": "<div/>"}], "signature": SIG}]),
        ({"type": "google_maps_call", "id": "m1"}, [{"type": "google_maps_call", "arguments": {"queries": ["cafe"]}, "signature": SIG}]),
        ({"type": "google_maps_result", "call_id": "m1"}, [{"type": "google_maps_result", "result": [{"places": [{"name": "Cafe", "place_id": "p", "url": "https://m"}], "widget_context_token": "w"}], "signature": SIG}]),
        ({"type": "file_search_call", "id": "f1"}, [{"type": "file_search_call", "signature": SIG}]),
        ({"type": "file_search_result", "call_id": "f1"}, [{"type": "file_search_result", "result": [{"text": "x"}], "signature": SIG}]),
        ({"type": "mcp_server_tool_call", "id": "t1", "name": "n", "server_name": "s", "arguments": {}},
         [{"type": "mcp_server_tool_call", "name": "n", "server_name": "s", "arguments": {"x": 1}}]),
        ({"type": "mcp_server_tool_result", "call_id": "t1"}, [{"type": "mcp_server_tool_result", "result": "done", "name": "n", "server_name": "s"}]),
        ({"type": "retrieval_call", "id": "r1"}, [{"type": "retrieval_call", "arguments": {"queries": ["q"]}, "retrieval_type": "rag_store", "signature": SIG}]),
        ({"type": "retrieval_result", "call_id": "r1"}, [{"type": "retrieval_result", "is_error": False, "signature": SIG}]),
        ({"type": "processing_call", "id": "p1"}, [{"type": "processing_call", "signature": SIG}]),
        ({"type": "processing_result", "call_id": "p1"}, [{"type": "processing_result", "signature": SIG}]),
        ({"type": "model_output"}, [
            {"type": "text", "text": "Answer "},
            {"type": "text_annotation_delta", "annotations": [{"type": "url_citation", "url": "https://a.b", "title": "A", "start_index": 0, "end_index": 6}]},
            {"type": "text", "text": "more"},
            {"type": "image", "data": B64, "mime_type": "image/png", "resolution": "high"},
            {"type": "audio", "data": B64, "mime_type": "audio/wav", "sample_rate": 24000, "channels": 1, "rate": 24000},
            {"type": "video", "uri": "https://example.com/v.mp4", "mime_type": "video/mp4", "resolution": "720p"},
            {"type": "document", "data": B64, "mime_type": "application/pdf"},
            {"type": "hologram", "frames": 3},
        ]),
    ]
    events = [{"event_type": "interaction.created", "event_id": "e0", "interaction": {"id": "v1_one", "status": "in_progress"}}]
    for index, (start, deltas) in enumerate(steps):
        events.append({"event_type": "step.start", "index": index, "step": start})
        events += [{"event_type": "step.delta", "index": index, "delta": delta} for delta in deltas]
        events.append({"event_type": "step.stop", "index": index})
    events.append({"event_type": "interaction.completed", "interaction": {"id": "v1_one", "status": "completed", "usage": USAGE}})
    return events


def whole_everything() -> dict:
    """A non-streamed answer holding every step type of the reference, verbatim, ending with an
    unanswered function call (status requires_action)."""
    return {"id": "v1_two", "status": "requires_action", "usage": USAGE, "steps": [
        {"type": "thought", "signature": SIG, "summary": [{"type": "text", "text": "Plan"}]},
        {"type": "code_execution_call", "id": "c2", "arguments": {"code": "ls", "language": "bash"}, "signature": SIG},
        {"type": "code_execution_result", "call_id": "c2", "result": [{"type": "text", "text": "a.txt"}], "is_error": False},
        {"type": "url_context_call", "id": "u2", "arguments": {"urls": ["https://x.y"]}},
        {"type": "url_context_result", "call_id": "u2", "result": [{"url": "https://x.y", "status": "paywall"}], "is_error": True},
        {"type": "google_search_call", "id": "g2", "arguments": {"queries": ["w"]}, "search_type": "web_search", "signature": SIG},
        {"type": "google_search_result", "call_id": "g2", "result": [{"search_suggestions": "<p/>"}], "signature": SIG},
        {"type": "google_maps_call", "id": "m2", "arguments": {"queries": ["x"]}},
        {"type": "google_maps_result", "call_id": "m2", "result": [{"places": [{"name": "P", "review_snippets": []}]}]},
        {"type": "file_search_call", "id": "f2"}, {"type": "file_search_result", "call_id": "f2"},
        {"type": "mcp_server_tool_call", "id": "t2", "name": "n", "server_name": "s", "arguments": {}},
        {"type": "mcp_server_tool_result", "call_id": "t2", "result": {"v": 1}},
        {"type": "retrieval_call", "id": "r2", "arguments": {"queries": ["q"]}},
        {"type": "retrieval_result", "call_id": "r2"},
        {"type": "processing_call", "id": "p2"}, {"type": "processing_result", "call_id": "p2"},
        {"type": "function_call", "id": "fc_0", "name": "g", "arguments": {}},
        {"type": "function_result", "call_id": "fc_0", "result": [{"type": "text", "text": "r"}], "name": "g"},
        {"type": "model_output", "content": [
            {"type": "text", "text": "Partial", "annotations": [
                {"type": "file_citation", "document_uri": "d", "file_name": "f", "page_number": 1, "start_index": 0, "end_index": 3}]},
            {"type": "image", "uri": "https://example.com/i.png", "mime_type": "image/png"}]},
        {"type": "function_call", "id": "fc_2", "name": "get_weather", "arguments": {"location": "Boston"}},
    ]}


def test_stateless_replay_of_every_step_and_delta_type(api, tmp_path):
    session = tmp_path / "s.json"
    api.stream(streamed_everything())
    api.json(whole_everything())
    api.json(interaction("noted", interaction_id="v1_two_b"))  # after the undeclared call is answered
    api.stream(text_events("ok", interaction_id="v1_three"))
    media = ["--media-dir", str(tmp_path / "media")]
    first = run(["generate", "--no-store", "--session", str(session), *media, "one"])
    assert first.exit_code == 0, first.stderr
    # requires_action with a call no one declared: answered "not declared", then exit 14
    assert run(["generate", "--no-stream", "--session", str(session), *media, "two"]).exit_code == 14
    assert run(["generate", "--session", str(session), *media, "three"]).exit_code == 0
    third = api.bodies()[3]
    sent = [step["type"] for step in third["input"]]
    # Every step type of both answers is resent, the call fc_2 with its "not declared" result.
    assert set(sent) == {"user_input", "thought", "model_output", "function_call", "function_result"} | {
        f"{tool}_{end}" for tool in ("code_execution", "url_context", "google_search", "google_maps", "file_search",
                                     "mcp_server_tool", "retrieval", "processing") for end in ("call", "result")}
    [result] = [step for step in third["input"] if step["type"] == "function_result" and step["call_id"] == "fc_2"]
    assert result["is_error"] is True
    # The unknown delta type is a content block of its own, resent verbatim (as the SDK resends
    # what it does not know); the strict schema knows no such block, so it is checked apart.
    bodies = api.bodies()[1:]
    for body in bodies:
        [output] = [step for step in body["input"] if step["type"] == "model_output" and step["content"][-1]["type"] == "hologram"]
        assert output["content"].pop() == {"type": "hologram", "frames": 3}
    assert_valid(api.bodies()[:1] + bodies)


def test_chat_turns(api):
    api.stream(text_events("one"))
    api.stream(text_events("two", interaction_id="v1_two"))
    result = run(["chat", "--no-save", "--no-store", "--thinking", "xhigh", "--service-tier", "flex", "--image"], input="a\nb\n")
    assert result.exit_code == 0, result.stderr
    assert len(api.bodies()) == 2
    assert_valid(api.bodies())
