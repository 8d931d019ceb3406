"""`gemini-cli generate` against the fake Interactions API: flags, request bodies,
stdin, output modes, streaming edge cases and final statuses.

HTTP error mapping, retries and timeouts are in test_client.py; keys and the
config file in test_config.py.
"""

from __future__ import annotations

import json

import pytest

from conftest import API_KEY, INTERACTION_ID, USAGE, interaction, sse, text_events
from conftest import run_checked as run
from gemini_cli import __version__
from gemini_cli.api.client import user_agent

DEFAULT_BODY = {"model": "gemini-3-flash-preview", "input": "hi", "stream": True}
SIGNATURE = "CpYBAVHx7S+3/ab9Kq0=="  # base64 with + / = : must come back byte-exact


def answer(stdout: str) -> dict:
    """The -o json document: one pretty-printed JSON value and a newline, nothing else.

    A `conversation` key (where the turn was saved) belongs to the history feature
    and is checked by its own tests; it is dropped here.
    """
    document = json.loads(stdout)
    assert stdout == json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    document.pop("conversation", None)
    return document


def streamed_result(text: str, *, steps_before: list | None = None, **extra) -> dict:
    """What -o json prints for text_events(text) with the default arguments."""
    result = {
        "id": INTERACTION_ID, "status": "completed", "object": "interaction", "model": "gemini-3-flash-preview",
        "steps": [*(steps_before or [{"type": "thought", "signature": SIGNATURE}]),
                  {"type": "model_output", "content": [{"type": "text", "text": text}]}],
        "usage": USAGE,
        "output_text": text,
    }
    result.update(extra)
    return result


# -- the request body, one flag at a time ----------------------------------------------


@pytest.mark.parametrize(
    "args, fields",
    [
        ([], {}),
        (["-m", "gemini-2.5-pro"], {"model": "gemini-2.5-pro"}),
        (["--model", "gemini-3-pro-preview"], {"model": "gemini-3-pro-preview"}),
        (["-s", "Be terse."], {"system_instruction": "Be terse."}),
        (["--system", "Answer in French."], {"system_instruction": "Answer in French."}),
        (["--temperature", "0.3"], {"generation_config": {"temperature": 0.3}}),
        (["--temperature", "0"], {"generation_config": {"temperature": 0.0}}),
        (["--top-p", "0.9"], {"generation_config": {"top_p": 0.9}}),
        (["--max-tokens", "256"], {"generation_config": {"max_output_tokens": 256}}),
        (["--seed", "42"], {"generation_config": {"seed": 42}}),
        (["--seed", "0"], {"generation_config": {"seed": 0}}),
        (["--stop", "END"], {"generation_config": {"stop_sequences": ["END"]}}),
        (["--stop", "END", "--stop", "\n\n"], {"generation_config": {"stop_sequences": ["END", "\n\n"]}}),
        (["--thinking", "minimal"], {"generation_config": {"thinking_level": "minimal"}}),
        (["--thinking", "high"], {"generation_config": {"thinking_level": "high"}}),
        (["--thoughts"], {"generation_config": {"thinking_summaries": "auto"}}),
        (["--no-thoughts"], {}),
        (["--stream"], {}),
        (["-o", "text"], {}),
        (["--no-usage"], {}),
        (["-q"], {}),
        (["--timeout", "30"], {}),
        (["--retries", "1"], {}),
        (["--max-time", "60"], {}),
        (
            ["-m", "gemini-2.5-flash", "-s", "sys", "--temperature", "1.5", "--top-p", "0.5", "--max-tokens", "10",
             "--seed", "7", "--stop", "x", "--thinking", "medium", "--thoughts"],
            {"model": "gemini-2.5-flash", "system_instruction": "sys", "generation_config": {
                "temperature": 1.5, "top_p": 0.5, "seed": 7, "max_output_tokens": 10,
                "stop_sequences": ["x"], "thinking_level": "medium", "thinking_summaries": "auto"}},
        ),
    ],
)
def test_each_flag_sets_exactly_its_body_field(api, args, fields):
    api.stream(text_events("ok"))
    result = run(["generate", *args, "hi"])
    deprecated = [name for name in ("temperature", "top_p") if name in fields.get("generation_config", {})]
    note = (f"gemini-cli: generation_config.{' and '.join(deprecated)} {'is' if len(deprecated) == 1 else 'are'} "
            "deprecated on the Interactions API (google-genai 3.3.0); sent as asked\n") if deprecated else ""
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", note)
    assert api.bodies() == [{**DEFAULT_BODY, **fields}]


def test_no_stream_sends_no_stream_key_and_asks_for_json(api):
    api.json(interaction("Hello, world"))
    result = run(["generate", "--no-stream", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello, world\n", "")
    assert api.bodies() == [{"model": "gemini-3-flash-preview", "input": "hi"}]
    assert api.requests()[0].headers["Accept"] == "application/json"


def test_request_line_and_headers(api):
    api.stream(text_events("ok"))
    assert run(["generate", "hi"]).exit_code == 0
    (request,) = api.requests()
    assert (request.method, request.path, request.query_string) == ("POST", "/v1beta/interactions", b"")
    assert request.headers["x-goog-api-key"] == API_KEY
    assert request.headers["Api-Revision"] == "2026-05-20"
    assert request.headers["User-Agent"].startswith(f"gemini-cli/{__version__} ")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "text/event-stream"
    assert "Authorization" not in request.headers
    assert API_KEY not in request.url


def test_body_is_utf8_json_not_ascii_escaped(api):
    api.stream(text_events("ok"))
    assert run(["generate", "héllo ✓ 日本"]).exit_code == 0
    raw = api.requests()[0].get_data()
    assert "héllo ✓ 日本".encode() in raw
    assert api.bodies()[0]["input"] == "héllo ✓ 日本"


def test_api_version_and_base_url_flags(api, monkeypatch):
    from conftest import closed_port_url

    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", closed_port_url())  # the flag must win
    api.stream(text_events("ok"), path="/v1/interactions")
    result = run(["generate", "--base-url", api.base_url + "/", "--api-version", "v1", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")
    assert [r.path for r in api.requests()] == ["/v1/interactions"]


@pytest.mark.parametrize(
    "args",
    [
        ["--thinking", "extreme"],
        ["-o", "yaml"],
        ["--temperature", "3"],
        ["--top-p", "1.5"],
        ["--max-tokens", "0"],
        ["--seed", "many"],
        ["--retries", "-1"],
        ["--timeout", "0"],
        ["--no-such-flag"],
    ],
)
def test_bad_flag_values_exit_2_without_sending(api, args):
    result = run(["generate", *args, "hi"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("gemini-cli: error: generate: ")
    assert result.stderr.endswith(" (see gemini-cli generate --help)\n")
    assert len(result.stderr.splitlines()) == 1
    assert api.requests() == []


# -- --system-file ---------------------------------------------------------------------


def test_system_file(api, tmp_path):
    path = tmp_path / "system.txt"
    path.write_text("You are a pirate.\nSpeak like one.\n", encoding="utf-8")
    api.stream(text_events("Arr"))
    result = run(["generate", "--system-file", str(path), "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Arr\n", "")
    assert api.bodies() == [{**DEFAULT_BODY, "system_instruction": "You are a pirate.\nSpeak like one.\n"}]


def test_system_and_system_file_together_exit_2(api, tmp_path):
    path = tmp_path / "system.txt"
    path.write_text("x")
    result = run(["generate", "-s", "inline", "--system-file", str(path), "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gemini-cli: error: give --system or --system-file, not both\n"
    assert api.requests() == []


def test_unreadable_system_file_exit_2_naming_the_path(api, tmp_path):
    missing = tmp_path / "nope" / "system.txt"
    result = run(["generate", "--system-file", str(missing), "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: cannot read --system-file {missing}: No such file or directory\n"
    assert api.requests() == []


def test_non_utf8_system_file_exit_2(api, tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9")
    result = run(["generate", "--system-file", str(path), "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"gemini-cli: error: cannot read --system-file {path}: ")
    assert api.requests() == []


# -- --dry-run -------------------------------------------------------------------------


def dry_run_text(url: str, body: dict, accept: str = "text/event-stream") -> str:
    return "\n".join([
        f"POST {url}",
        "Content-Type: application/json",
        f"Accept: {accept}",
        "Api-Revision: 2026-05-20",
        f"User-Agent: {user_agent()}",
        "x-goog-api-key: <redacted>",
        "",
        json.dumps(body, ensure_ascii=False, indent=2),
    ]) + "\n"


def test_dry_run_prints_the_exact_request_and_sends_nothing(api):
    result = run(["generate", "--dry-run", "-m", "gemini-2.5-pro", "-s", "Be brief", "--temperature", "0.5",
                  "--stop", "END", "--thinking", "low", "héllo"])
    body = {"model": "gemini-2.5-pro", "input": "héllo", "system_instruction": "Be brief",
            "generation_config": {"temperature": 0.5, "stop_sequences": ["END"], "thinking_level": "low"},
            "stream": True}
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == dry_run_text(f"{api.base_url}/v1beta/interactions", body)
    assert json.loads(result.stdout.split("\n\n", 1)[1]) == body
    assert api.requests() == []


def test_dry_run_no_stream_with_base_url_and_version(api):
    result = run(["generate", "--dry-run", "--no-stream", "--base-url", "https://example.test/", "--api-version", "v1", "hi"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == dry_run_text(
        "https://example.test/v1/interactions", {"model": "gemini-3-flash-preview", "input": "hi"}, "application/json"
    )
    assert api.requests() == []


def test_dry_run_headers_match_what_is_really_sent(api):
    shown = run(["generate", "--dry-run", "hi"]).stdout
    api.stream(text_events("ok"))
    assert run(["generate", "hi"]).exit_code == 0
    sent = api.requests()[0].headers
    head = shown.split("\n\n", 1)[0].splitlines()[1:]
    for line in head:
        name, _, value = line.partition(": ")
        assert sent[name] == (API_KEY if value == "<redacted>" else value)
    assert json.loads(shown.split("\n\n", 1)[1]) == api.bodies()[0]


def test_dry_run_never_shows_the_key(api, monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", "fake-dry-run-secret-key-123456")
    result = run(["generate", "--dry-run", "hi"])
    assert result.exit_code == 0
    assert "x-goog-api-key: <redacted>\n" in result.stdout
    assert "fake-dry-run-secret-key-123456" not in result.stdout + result.stderr


# -- prompt from the argument and/or stdin -------------------------------------------------


def test_prompt_from_argument_only(api):
    api.stream(text_events("ok"))
    assert run(["generate", "argument"]).exit_code == 0
    assert api.bodies()[0]["input"] == "argument"


def test_prompt_from_stdin_only(api):
    api.stream(text_events("4"))
    result = run(["generate"], input="What is 2+2?\n")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "4\n", "")
    assert api.bodies() == [{**DEFAULT_BODY, "input": "What is 2+2?\n"}]


def test_prompt_from_stdin_and_argument(api):
    api.stream(text_events("ok"))
    assert run(["generate", "argument"], input="stdin\n").exit_code == 0
    assert api.bodies()[0]["input"] == "stdin\n\nargument"


def test_multiline_stdin_then_argument(api):
    api.stream(text_events("ok"))
    assert run(["generate", "Summarise this"], input="line 1\nline 2\n\n").exit_code == 0
    assert api.bodies()[0]["input"] == "line 1\nline 2\n\nSummarise this"


@pytest.mark.parametrize("stdin", [None, "", "  \n\n"])
def test_no_prompt_exit_2_with_a_hint(api, stdin):
    result = run(["generate"], input=stdin)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "gemini-cli: error: no prompt: give PROMPT as an argument or pipe text on stdin "
        "(see gemini-cli generate --help)\n"
    )
    assert api.requests() == []


def test_non_utf8_stdin_exit_2(api):
    result = run(["generate", "describe"], input=b"\x89PNG\r\n\x1a\n\xff\xfe")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gemini-cli: error: stdin is not UTF-8 text (attach binary data with --attach -)\n"
    assert api.requests() == []


# -- output modes ------------------------------------------------------------------------


def test_text_streamed_is_the_answer_and_one_newline(api):
    api.stream(text_events("Hello", ", ", "world"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello, world\n", "")


def test_text_that_already_ends_in_a_newline_gets_no_second_one(api):
    api.stream(text_events("line one\n", "line two\n"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (0, "line one\nline two\n")


def test_text_with_no_answer_text_prints_nothing(api):
    api.stream(text_events())
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_text_non_streamed(api):
    api.json(interaction("Hello\nworld"))
    result = run(["generate", "--no-stream", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello\nworld\n", "")


def test_json_streamed_is_the_reassembled_interaction(api):
    api.stream(text_events("Hello", ", world", signature=SIGNATURE))
    result = run(["generate", "-o", "json", "hi"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert answer(result.stdout) == streamed_result("Hello, world")
    assert f'"signature": "{SIGNATURE}"' in result.stdout  # byte-exact, not re-encoded


def test_json_non_streamed_keeps_every_field(api):
    body = interaction("Hi there", created="2026-05-12T18:44:51Z", service_tier="standard",
                       usage={**USAGE, "input_tokens_by_modality": [{"modality": "text", "tokens": 5}]})
    body["steps"][0]["signature"] = SIGNATURE
    api.json(body)
    result = run(["generate", "--no-stream", "--output", "json", "hi"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert answer(result.stdout) == {**body, "output_text": "Hi there"}
    assert f'"signature": "{SIGNATURE}"' in result.stdout


def test_jsonl_streamed_is_every_raw_event_one_per_line(api):
    events = text_events("Hel", "lo", thought="hmm")
    events.insert(3, {"event_type": "some.future_event", "payload": {"nested": [1, 2]}})
    api.stream(events)
    result = run(["generate", "-o", "jsonl", "hi"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "".join(json.dumps(event) + "\n" for event in events)


def test_jsonl_non_streamed_is_the_interaction_on_one_line(api):
    body = interaction("Hello")
    api.json(body)
    result = run(["generate", "--no-stream", "-o", "jsonl", "hi"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == json.dumps(body) + "\n"


# -- thoughts and usage --------------------------------------------------------------------


def test_thoughts_streamed_go_to_stderr_only(api):
    api.stream(text_events("The answer.", thought="Considering the question."))
    result = run(["generate", "--thoughts", "hi"])
    assert (result.exit_code, result.stdout) == (0, "The answer.\n")
    assert result.stderr == "Considering the question.\n"
    assert api.bodies()[0]["generation_config"] == {"thinking_summaries": "auto"}


def test_thoughts_non_streamed_go_to_stderr_only(api):
    body = interaction("The answer.")
    body["steps"][0]["summary"] = [{"type": "text", "text": "Thinking it over."}]
    api.json(body)
    result = run(["generate", "--thoughts", "--no-stream", "hi"])
    assert (result.exit_code, result.stdout) == (0, "The answer.\n")
    assert result.stderr == "Thinking it over.\n"


def test_thought_summaries_are_not_printed_without_thoughts(api):
    api.stream(text_events("The answer.", thought="Private musing."))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "The answer.\n", "")


def test_thoughts_with_json_output_stay_in_the_document(api):
    api.stream(text_events("A", thought="Musing", signature=SIGNATURE))
    result = run(["generate", "--thoughts", "-o", "json", "hi"])
    assert (result.exit_code, result.stderr) == (0, "")
    thought = {"type": "thought", "summary": [{"type": "text", "text": "Musing"}], "signature": SIGNATURE}
    assert answer(result.stdout) == streamed_result("A", steps_before=[thought])


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_usage_line_on_stderr(api, stream):
    if stream == "--stream":
        api.stream(text_events("ok"))
    else:
        api.json(interaction("ok"))
    result = run(["generate", "--usage", stream, "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == "usage: 5 input, 7 output, 3 thought, 15 total tokens\n"


def test_usage_not_reported(api):
    api.stream(text_events("ok", usage=None))
    result = run(["generate", "--usage", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "usage: not reported\n")


# -- streaming robustness ------------------------------------------------------------------


def test_unknown_event_and_delta_types_are_tolerated(api):
    events = text_events("Hello", " world")
    events.insert(2, {"event_type": "interaction.heartbeat", "event_id": "h1"})
    events.insert(-2, {"event_type": "step.delta", "index": 1, "delta": {"type": "hologram", "frames": 3}})
    events.insert(-2, {"event_type": "brand.new.event", "data": {"x": 1}})
    api.stream(events)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello world\n", "")


def test_unknown_delta_is_kept_in_json(api):
    events = text_events("Hello")
    events.insert(-2, {"event_type": "step.delta", "index": 1, "delta": {"type": "hologram", "frames": 3}})
    api.stream(events)
    result = run(["generate", "-o", "json", "hi"])
    assert result.exit_code == 0
    document = answer(result.stdout)
    # a delta type we do not know on a model_output step: a content block of its own, kept whole
    assert document["steps"][1] == {"type": "model_output", "content": [{"type": "text", "text": "Hello"},
                                                                        {"type": "hologram", "frames": 3}]}
    assert "unplaced_deltas" not in document


def test_done_stops_reading(api):
    after = sse([{"event_type": "step.delta", "index": 1, "delta": {"type": "text", "text": "AFTER DONE"}}], done=False)
    api.stream(sse(text_events("Hello")) + after)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello\n", "")


def test_malformed_event_is_skipped_with_a_warning(api):
    body = sse(text_events("Hello")[:-1], done=False) + "event: step.delta\ndata: {not json\n\n" + sse(
        [{"event_type": "step.delta", "index": 1, "delta": {"type": "text", "text": " world"}}, text_events()[-1]]
    )
    api.stream(body)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (0, "Hello world\n")
    assert result.stderr == "gemini-cli: warning: skipped a malformed event: '{not json'\n"


def test_quiet_hides_warnings(api):
    body = sse(text_events("Hello")[:-1], done=False) + "data: {not json\n\n" + sse(text_events()[-1:])
    api.stream(body)
    result = run(["generate", "-q", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello\n", "")


@pytest.mark.parametrize(
    "code, exit_code",
    [("gateway_timeout", 6), ("internal", 6), ("resource_exhausted", 5), ("permission_denied", 3), ("invalid_argument", 4)],
)
def test_error_event_exits_by_its_code_and_keeps_partial_text(api, code, exit_code):
    events = text_events("Hel", completed=False)
    events.append({"event_type": "error", "error": {"code": code, "message": "Deadline expired before operation could complete."}})
    events.append({"event_type": "step.delta", "index": 1, "delta": {"type": "text", "text": "NOT SHOWN"}})
    api.stream(events)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (exit_code, "Hel\n")
    assert result.stderr == (
        f"gemini-cli: error: the API reported an error during the stream: {code}: "
        "Deadline expired before operation could complete.\n"
    )
    assert len(api.requests()) == 1


# --retries 0 below: no attempt to resume the dropped stream (resuming has its own tests).
@pytest.mark.parametrize("done", [True, False])
def test_stream_ending_without_completed_exits_8_with_partial_text(api, done):
    api.stream(sse(text_events("Partial ", "answer", completed=False), done=done))
    result = run(["generate", "--retries", "0", "hi"])
    assert (result.exit_code, result.stdout) == (8, "Partial answer\n")
    assert result.stderr.startswith("gemini-cli: error: the stream ended before the interaction completed")
    assert len(result.stderr.splitlines()) == 1
    assert len(api.requests()) == 1  # output had started: never retried


def test_stream_ending_without_completed_json_is_an_error_document_with_the_partial(api):
    api.stream(text_events("Partial", completed=False))
    result = run(["generate", "--retries", "0", "-o", "json", "hi"])
    assert result.exit_code == 8
    document = answer(result.stdout)
    assert "output_text" not in document
    assert document["error"] == {"code": "stream_interrupted", "exit_code": 8, "message": result.stderr[len("gemini-cli: error: "):-1]}
    assert (document["id"], document["status"]) == (INTERACTION_ID, "in_progress")
    assert document["steps"][-1]["content"] == [{"type": "text", "text": "Partial"}]


def test_function_call_argument_fragments_are_reassembled(api):
    events = [
        {"event_type": "interaction.created", "interaction": {"id": "v1_fc", "status": "in_progress"}},
        {"event_type": "step.start", "index": 0, "step": {"type": "function_call", "id": "fc_1", "name": "get_weather", "arguments": {}}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "arguments_delta", "arguments": '{"loca'}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "arguments_delta", "arguments": 'tion": "Boston, MA", '}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "arguments_delta", "arguments": '"days": [1, 2]}'}},
        {"event_type": "step.stop", "index": 0},
        {"event_type": "interaction.completed", "interaction": {"id": "v1_fc", "status": "requires_action"}},
    ]
    api.stream(events)
    api.stream(text_events("I cannot.", interaction_id="v1_fc2"))
    result = run(["generate", "-o", "json", "hi"])  # get_weather is not declared: answered so, exit 14
    assert result.exit_code == 14
    assert result.stderr == (
        '→ get_weather(location="Boston, MA", days=[1, 2])\n← not declared: refused\n'
        "gemini-cli: error: the model called 1 function that was refused: get_weather (not declared)\n"
    )
    call = {"type": "function_call", "id": "fc_1", "name": "get_weather", "arguments": {"location": "Boston, MA", "days": [1, 2]}}
    document = answer(result.stdout)
    assert document["error"]["exit_code"] == 14 and document["steps"][0] == call
    assert json.loads(api.requests()[1].get_data())["input"] == [
        {"type": "function_result", "call_id": "fc_1", "name": "get_weather",
         "result": "function 'get_weather' is not declared: it was not run", "is_error": True}]


def test_thought_summary_deltas_are_reassembled(api):
    events = text_events("ok", thought="First, ", signature=SIGNATURE)
    events.insert(4, {"event_type": "step.delta", "index": 0, "delta": {"type": "thought_summary", "content": {"type": "text", "text": "then."}}})
    api.stream(events)
    result = run(["generate", "-o", "json", "hi"])
    assert result.exit_code == 0
    assert answer(result.stdout)["steps"][0] == {
        "type": "thought", "summary": [{"type": "text", "text": "First, then."}], "signature": SIGNATURE,
    }


def test_server_answering_json_to_a_stream_request_is_accepted(api):
    api.json(interaction("Whole answer"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Whole answer\n", "")


# -- final statuses --------------------------------------------------------------------------

STATUS_MESSAGES = {
    "incomplete": "the answer is incomplete (status incomplete): it probably reached the output token limit",
    "failed": "generation failed (status failed)",
    "cancelled": "the interaction was cancelled (status cancelled)",
    "budget_exceeded": "the interaction exceeded its budget (status budget_exceeded)",
}


@pytest.mark.parametrize("status", sorted(STATUS_MESSAGES))
def test_unfinished_status_streamed_exits_9_and_keeps_text(api, status):
    api.stream(text_events("Some text", status=status))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (9, "Some text\n")
    assert result.stderr == f"gemini-cli: error: {STATUS_MESSAGES[status]}\n"


@pytest.mark.parametrize("status", sorted(STATUS_MESSAGES))
def test_unfinished_status_non_streamed_exits_9_and_keeps_text(api, status):
    api.json(interaction("Some text", status=status))
    result = run(["generate", "--no-stream", "hi"])
    assert (result.exit_code, result.stdout) == (9, "Some text\n")
    assert result.stderr == f"gemini-cli: error: {STATUS_MESSAGES[status]}\n"


def test_failed_status_includes_the_api_errors(api):
    api.stream(text_events("x", status="failed", extra={"errors": [{"code": "internal", "message": "Model crashed."}]}))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (9, "x\n")
    assert result.stderr == "gemini-cli: error: generation failed (status failed): Model crashed.\n"


def test_usage_is_still_reported_when_incomplete(api):
    api.stream(text_events("x", status="incomplete"))
    result = run(["generate", "--usage", "--max-tokens", "3", "hi"])
    assert result.exit_code == 9
    assert result.stderr.splitlines() == [
        "usage: 5 input, 7 output, 3 thought, 15 total tokens",
        f"gemini-cli: error: {STATUS_MESSAGES['incomplete']}",
    ]


def test_safety_block_non_streamed_exits_9(api):
    body = interaction("Partial")
    body["steps"][1]["error"] = {"code": 3, "message": "Response blocked: SAFETY", "details": []}
    api.json(body)
    result = run(["generate", "--no-stream", "hi"])
    assert (result.exit_code, result.stdout) == (9, "Partial\n")
    assert result.stderr == "gemini-cli: error: the answer was blocked or stopped (status completed): Response blocked: SAFETY\n"


def test_safety_block_streamed_exits_9(api):
    events = text_events()
    events[5] = {"event_type": "step.start", "index": 1,
                 "step": {"type": "model_output", "error": {"code": 3, "message": "Response blocked: SAFETY"}}}
    api.stream(events)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (9, "")
    assert result.stderr == "gemini-cli: error: the answer was blocked or stopped (status completed): Response blocked: SAFETY\n"


# -- requires_continuation ---------------------------------------------------------------------


def test_continuation_streamed(api):
    api.stream(text_events("Part one. ", status="requires_continuation", extra={"continuation_token": "tok-1"}))
    api.stream(text_events("Part two.", interaction_id="v1_hop2"))
    result = run(["generate", "--usage", "-m", "gemini-2.5-pro", "--seed", "3", "hi"])
    assert (result.exit_code, result.stdout) == (0, "Part one. Part two.\n")
    assert result.stderr == "usage: 10 input, 14 output, 6 thought, 30 total tokens\n"
    first, second = api.bodies()
    assert first == {"model": "gemini-2.5-pro", "input": "hi", "generation_config": {"seed": 3}, "stream": True}
    assert second == {"model": "gemini-2.5-pro", "generation_config": {"seed": 3}, "stream": True,
                      "continuation_token": "tok-1", "previous_interaction_id": INTERACTION_ID}


def test_continuation_non_streamed(api):
    api.json(interaction("Part one. ", status="requires_continuation", continuation_token="tok-1"))
    api.json(interaction("Part two.", interaction_id="v1_hop2"))
    result = run(["generate", "--no-stream", "--usage", "-s", "sys", "hi"])
    assert (result.exit_code, result.stdout) == (0, "Part one. Part two.\n")
    assert result.stderr == "usage: 10 input, 14 output, 6 thought, 30 total tokens\n"
    assert api.bodies()[1] == {"model": "gemini-3-flash-preview", "system_instruction": "sys",
                               "continuation_token": "tok-1", "previous_interaction_id": INTERACTION_ID}


def test_continuation_json_has_every_hop(api):
    api.stream(text_events("A", status="requires_continuation", extra={"continuation_token": "tok-1"}, signature="s1"))
    api.stream(text_events("B", interaction_id="v1_hop2", signature="s2"))
    result = run(["generate", "-o", "json", "hi"])
    assert result.exit_code == 0
    document = answer(result.stdout)
    assert document["id"] == "v1_hop2"
    assert document["status"] == "completed"
    assert document["steps"] == [
        {"type": "thought", "signature": "s1"}, {"type": "model_output", "content": [{"type": "text", "text": "A"}]},
        {"type": "thought", "signature": "s2"}, {"type": "model_output", "content": [{"type": "text", "text": "B"}]},
    ]
    assert document["usage"] == {key: 2 * value for key, value in USAGE.items()}
    assert document["output_text"] == "AB"  # each hop as the SDK computes it, joined: one continued answer


def test_continuation_stops_when_a_hop_makes_no_progress(api):
    api.json(interaction("A", status="requires_continuation", continuation_token="tok-1"))
    api.json(interaction("B", status="requires_continuation", continuation_token="tok-1", interaction_id="v1_hop2"))
    result = run(["generate", "--no-stream", "hi"])
    assert len(api.requests()) == 2
    assert (result.exit_code, result.stdout) == (9, "AB\n")
    assert result.stderr == "gemini-cli: error: the interaction ended with status requires_continuation\n"


# -- a canned transcript in the docs' own framing (CRLF, compact JSON, no event ids) ----------

TRANSCRIPT = (__import__("pathlib").Path(__file__).parent / "data" / "count_to_five.sse").read_bytes().decode()
TRANSCRIPT_DATA = [line[len("data: "):].rstrip("\r") for line in TRANSCRIPT.split("\n")
                   if line.startswith("data: ") and "[DONE]" not in line]


def test_transcript_text_with_thoughts_and_usage(api):
    api.stream(TRANSCRIPT)
    result = run(["generate", "--thoughts", "--usage", "Count to five"])
    assert (result.exit_code, result.stdout) == (0, "1, 2, 3, 4, 5.\n")
    assert result.stderr == (
        "**Counting** I will count from one to five.\n"
        "usage: 9 input, 14 output, 40 thought, 63 total tokens\n"
    )


def test_transcript_json(api):
    api.stream(TRANSCRIPT)
    result = run(["generate", "-o", "json", "Count to five"])
    assert (result.exit_code, result.stderr) == (0, "")
    completed = json.loads(TRANSCRIPT_DATA[-1])["interaction"]
    assert answer(result.stdout) == {
        **completed,
        "steps": [
            {"type": "thought", "summary": [{"type": "text", "text": "**Counting** I will count from one to five."}],
             "signature": "EpcBCpQBAXLI2nwAHkI0bkN3Ylh0L3Z0R1Z3dFZ2+abc/def=="},
            {"type": "model_output", "content": [{"type": "text", "text": "1, 2, 3, 4, 5."}]},
        ],
        "output_text": "1, 2, 3, 4, 5.",
    }


def test_transcript_jsonl_is_the_raw_data_lines(api):
    api.stream(TRANSCRIPT)
    result = run(["generate", "-o", "jsonl", "Count to five"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "".join(data + "\n" for data in TRANSCRIPT_DATA)
    assert len(TRANSCRIPT_DATA) == 11


# -- what arrived is on stdout before the stream waits ---------------------------------------


@pytest.mark.parametrize("mode", ["text", "jsonl"])
def test_a_piped_stdout_gets_the_text_while_the_stream_stalls(api, mode):
    """stdout is a pipe (block-buffered): what arrived is flushed before each wait."""
    import os
    import select
    import subprocess
    import sys
    import threading

    from werkzeug import Response

    release = threading.Event()
    events = text_events("Partial", " answer")

    def handler(request):
        def body():
            yield sse(events[:-2], done=False).encode()
            release.wait(10)
            yield sse(events[-2:]).encode()

        return Response(body(), content_type="text/event-stream", direct_passthrough=True)

    api.server.expect_ordered_request("/v1beta/interactions", method="POST").respond_with_handler(handler)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # a pipe is block-buffered
    process = subprocess.Popen([sys.executable, "-m", "gemini_cli", "generate", "-o", mode, "hi"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        seen = b""
        want = b"Partial answer" if mode == "text" else b'"text": " answer"'
        while want not in seen:
            assert select.select([process.stdout], [], [], 10)[0], f"nothing more on stdout; got {seen!r}"
            chunk = os.read(process.stdout.fileno(), 65536)
            assert chunk, f"stdout closed early; got {seen!r}"
            seen += chunk
        assert process.poll() is None  # still waiting on the stalled stream
    finally:
        release.set()
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    if mode == "text":
        assert seen + stdout == b"Partial answer\n"


def test_a_turn_cut_short_returns_what_arrived_and_the_error(monkeypatch):
    """runs.turn.run never raises mid-turn: the partial answer and the error come back as an
    Outcome (the caller saves, then raises), not as attributes set on the exception."""
    import httpx

    from gemini_cli.api import interactions
    from gemini_cli.errors import NetworkError
    from gemini_cli.runs import turn

    first = interaction("part one", status="requires_continuation", continuation_token="tok")
    cut = NetworkError("connection reset")
    answers = [httpx.Response(200, json=first), cut]

    def create(client, body):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    class Renderer:
        def interaction(self, hop):
            pass

    monkeypatch.setattr(interactions, "create", create)
    outcome = turn.run(None, {"model": "m", "input": "hi"}, Renderer())
    assert outcome.error is cut and not outcome.finished
    assert outcome.result["output_text"] == "part one"
    assert not hasattr(cut, "partial") and not hasattr(cut, "partial_result")
    answers[:] = [httpx.Response(200, json=interaction("whole"))]
    done = turn.run(None, {"model": "m", "input": "hi"}, Renderer())
    assert (done.error, done.finished, done.result["output_text"]) == (None, True, "whole")
