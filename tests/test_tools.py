"""Built-in tools and grounding: --tool builds `tools`, tool steps are reassembled from
their streamed deltas, described on stderr in text mode, kept in -o json and in the
saved conversation; url_citation annotations are listed after the answer."""

from __future__ import annotations

import json

import pytest

from conftest import INTERACTION_ID, USAGE
from conftest import run_checked as run
from gemini_cli.render.tools import citations, describe
from gemini_cli.request.body import tool_list as tools

SEARCH_SIG, RESULT_SIG = "Z3NjYWxsLXNpZw+/==", "Z3NyZXN1bHQtc2ln"
SUGGESTIONS = '<div class="container"><a href="https://www.google.com/search?q=euro">euro 2024 winner</a></div>'
CITE_1 = {"type": "url_citation", "url": "https://uefa.example/final", "title": "UEFA: Final report",
          "start_index": 0, "end_index": 20}
CITE_2 = {"type": "url_citation", "url": "https://news.example/euro", "start_index": 21, "end_index": 42}
CITE_1_AGAIN = {**CITE_1, "start_index": 21, "end_index": 42}


def events(tool_steps: list[tuple[dict, dict]], chunks: list[str], annotations: list[dict] | None = None,
           interaction_id: str = INTERACTION_ID, status: str = "completed") -> list[dict]:
    """A stream as the API sends it: thought, then each tool step (start skeleton, one
    delta with the payload, stop), then the answer with its annotation delta."""
    out = [
        {"event_type": "interaction.created", "event_id": "e0",
         "interaction": {"id": interaction_id, "status": "in_progress", "object": "interaction", "model": "gemini-3-flash-preview"}},
        {"event_type": "step.start", "index": 0, "step": {"type": "thought"}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "thought_signature", "signature": "dGhvdWdodA=="}},
        {"event_type": "step.stop", "index": 0},
    ]
    index = 1
    for skeleton, delta in tool_steps:
        out += [
            {"event_type": "step.start", "index": index, "step": skeleton},
            {"event_type": "step.delta", "index": index, "delta": delta},
            {"event_type": "step.stop", "index": index},
        ]
        index += 1
    out.append({"event_type": "step.start", "index": index, "step": {"type": "model_output"}})
    out += [{"event_type": "step.delta", "event_id": f"t{n}", "index": index, "delta": {"type": "text", "text": chunk}}
            for n, chunk in enumerate(chunks)]
    if annotations:
        out.append({"event_type": "step.delta", "index": index, "delta": {"type": "text_annotation_delta", "annotations": annotations}})
    out += [
        {"event_type": "step.stop", "index": index},
        {"event_type": "interaction.completed", "event_id": "e9",
         "interaction": {"id": interaction_id, "status": status, "object": "interaction", "model": "gemini-3-flash-preview", "usage": USAGE}},
    ]
    return out


SEARCH = [
    ({"type": "google_search_call", "id": "gs_1", "signature": ""},
     {"type": "google_search_call", "arguments": {"queries": ["euro 2024 winner", "euro 2024 final score"]}, "signature": SEARCH_SIG}),
    ({"type": "google_search_result", "call_id": "gs_1", "signature": ""},
     {"type": "google_search_result", "result": [{"search_suggestions": SUGGESTIONS}], "signature": RESULT_SIG}),
]
SEARCH_STEPS = [
    {"type": "google_search_call", "id": "gs_1", "signature": SEARCH_SIG,
     "arguments": {"queries": ["euro 2024 winner", "euro 2024 final score"]}},
    {"type": "google_search_result", "call_id": "gs_1", "signature": RESULT_SIG, "result": [{"search_suggestions": SUGGESTIONS}]},
]
ANSWER = ["Spain won Euro 2024, ", "beating England 2–1."]


def search_events(**kwargs) -> list[dict]:
    return events(SEARCH, ANSWER, [CITE_1, CITE_2, CITE_1_AGAIN], **kwargs)


def saved(path):
    return json.loads(path.read_text())


# -- the request -------------------------------------------------------------------------


def test_tools_are_sent_in_order_once_each(api):
    result = run(["generate", "--dry-run", "--tool", "google_search", "--tool", "code_execution",
                  "--tool", "url_context", "--tool", "google_search", "hi"])
    assert result.exit_code == 0
    body = json.loads(result.stdout.split("\n\n", 1)[1])
    assert body["tools"] == [{"type": "google_search"}, {"type": "code_execution"}, {"type": "url_context"}]


@pytest.mark.parametrize("args, message", [
    (["--tool", "web"], "gemini-cli: error: generate: invalid value for '--tool': 'web' is not one of"),
    (["--tool", "none", "--tool", "url_context"], "--tool none means no tools; it cannot be combined with other --tool values"),
])
def test_bad_tool_values_exit_2(api, args, message):
    result = run(["generate", *args, "hi"])
    assert result.exit_code == 2
    assert message in result.stderr
    assert api.requests() == []


# -- google_search: stderr shows the queries, citations listed after the answer ----------------------


def test_search_steps_and_citations_in_text_mode(api):
    api.stream(search_events())
    result = run(["generate", "--tool", "google_search", "Who won Euro 2024?"])
    assert (result.exit_code, result.stdout) == (0, "Spain won Euro 2024, beating England 2–1.\n")
    assert result.stderr == (
        "search: euro 2024 winner\n"
        "search: euro 2024 final score\n"
        "[1] UEFA: Final report — https://uefa.example/final\n"
        "[2] https://news.example/euro\n"
    )
    assert api.bodies()[0]["tools"] == [{"type": "google_search"}]


def test_quiet_hides_tool_activity_but_not_citations(api):
    api.stream(search_events())
    result = run(["generate", "-q", "--tool", "google_search", "Who won Euro 2024?"])
    assert result.exit_code == 0
    assert result.stderr == "[1] UEFA: Final report — https://uefa.example/final\n[2] https://news.example/euro\n"


def test_json_output_keeps_tool_steps_and_lists_citations(api, tmp_path):
    api.stream(search_events())
    session = tmp_path / "c.json"
    result = run(["generate", "-o", "json", "--session", str(session), "--tool", "google_search", "Who won?"])
    assert (result.exit_code, result.stderr) == (0, "")
    document = json.loads(result.stdout)
    answer_step = {"type": "model_output", "content": [
        {"type": "text", "text": "Spain won Euro 2024, beating England 2–1.", "annotations": [CITE_1, CITE_2, CITE_1_AGAIN]}]}
    assert document["steps"] == [{"type": "thought", "signature": "dGhvdWdodA=="}, *SEARCH_STEPS, answer_step]
    assert document["citations"] == [
        {"url": "https://uefa.example/final", "title": "UEFA: Final report"}, {"url": "https://news.example/euro"}]
    assert document["output_text"] == "Spain won Euro 2024, beating England 2–1."
    conversation = saved(session)
    assert conversation["tools"] == [{"type": "google_search"}]
    assert conversation["turns"][0]["steps"] == document["steps"]  # verbatim, signatures included
    assert "citations" not in conversation["turns"][0]


def test_jsonl_output_is_the_raw_events(api):
    stream = search_events()
    api.stream(stream)
    result = run(["generate", "-o", "jsonl", "--tool", "google_search", "Who won?"])
    assert result.exit_code == 0
    assert [json.loads(line) for line in result.stdout.splitlines()] == stream
    assert result.stderr == ""


# -- code_execution and url_context ----------------------------------------------------------


def test_code_execution_shows_code_and_output(api):
    api.stream(events([
        ({"type": "code_execution_call", "id": "ce_1", "signature": ""},
         {"type": "code_execution_call", "arguments": {"code": "total = sum(range(10))\nprint(total)", "language": "python"},
          "signature": "Y2Utc2ln"}),
        ({"type": "code_execution_result", "call_id": "ce_1"},
         {"type": "code_execution_result", "result": "45\n", "is_error": False}),
    ], ["The sum is 45."]))
    result = run(["generate", "--tool", "code_execution", "Sum 0..9"])
    assert (result.exit_code, result.stdout) == (0, "The sum is 45.\n")
    assert result.stderr == "code (python):\n  total = sum(range(10))\n  print(total)\noutput:\n  45\n"


def test_code_execution_error_and_empty_output(api):
    api.stream(events([
        ({"type": "code_execution_call", "id": "ce_1"},
         {"type": "code_execution_call", "arguments": {"code": "1/0", "language": "python"}}),
        ({"type": "code_execution_result", "call_id": "ce_1"},
         {"type": "code_execution_result", "result": "ZeroDivisionError: division by zero", "is_error": True}),
        ({"type": "code_execution_call", "id": "ce_2"},
         {"type": "code_execution_call", "arguments": {"code": "x = 1", "language": "python"}}),
        ({"type": "code_execution_result", "call_id": "ce_2"},
         {"type": "code_execution_result", "result": ""}),
    ], ["Division by zero fails."]))
    result = run(["generate", "--tool", "code_execution", "Try"])
    assert result.exit_code == 0
    assert result.stderr == ("code (python):\n  1/0\noutput (error):\n  ZeroDivisionError: division by zero\n"
                             "code (python):\n  x = 1\noutput: (none)\n")


def test_url_context_shows_urls_and_failed_reads(api):
    api.stream(events([
        ({"type": "url_context_call", "id": "uc_1", "signature": ""},
         {"type": "url_context_call", "arguments": {"urls": ["https://a.example/post", "https://b.example/paid"]}}),
        ({"type": "url_context_result", "call_id": "uc_1", "signature": ""},
         {"type": "url_context_result", "result": [{"url": "https://a.example/post", "status": "success"},
                                                   {"url": "https://b.example/paid", "status": "paywall"}]}),
    ], ["Post A says hello."], [{"type": "url_citation", "url": "https://a.example/post", "title": "Post A",
                                  "start_index": 0, "end_index": 18}]))
    result = run(["generate", "--tool", "url_context", "Compare https://a.example/post and https://b.example/paid"])
    assert (result.exit_code, result.stdout) == (0, "Post A says hello.\n")
    assert result.stderr == ("read: https://a.example/post\nread: https://b.example/paid\n"
                             "read: https://b.example/paid: paywall\n[1] Post A — https://a.example/post\n")


def test_non_streamed_tool_steps_are_shown_in_order(api):
    api.json({
        "id": INTERACTION_ID, "status": "completed", "object": "interaction", "model": "gemini-3-flash-preview",
        "steps": [
            {"type": "code_execution_call", "id": "ce_1", "arguments": {"code": "print(6*7)", "language": "python"}},
            {"type": "code_execution_result", "call_id": "ce_1", "result": [{"type": "text", "text": "42\n"}]},
            {"type": "model_output", "content": [{"type": "text", "text": "42", "annotations": [CITE_1]}]},
        ],
        "usage": USAGE,
    })
    result = run(["generate", "--no-stream", "--tool", "code_execution", "6*7"])
    assert (result.exit_code, result.stdout) == (0, "42\n")
    assert result.stderr == "code (python):\n  print(6*7)\noutput:\n  42\n[1] UEFA: Final report — https://uefa.example/final\n"


# -- remembered by the conversation ------------------------------------------------------


def test_tools_are_remembered_resent_and_overridden(api, tmp_path):
    session = tmp_path / "c.json"
    for n in range(4):
        api.stream(events([], [f"answer {n}"], interaction_id=f"v1_{n}"))
    base = ["generate", "--session", str(session)]
    assert run([*base, "--tool", "google_search", "--tool", "code_execution", "one"]).exit_code == 0
    assert run([*base, "two"]).exit_code == 0
    assert run([*base, "--tool", "url_context", "three"]).exit_code == 0
    assert saved(session)["tools"] == [{"type": "url_context"}]
    assert run([*base, "--tool", "none", "four"]).exit_code == 0
    assert [b.get("tools") for b in api.bodies()] == [
        [{"type": "google_search"}, {"type": "code_execution"}],
        [{"type": "google_search"}, {"type": "code_execution"}],
        [{"type": "url_context"}],
        None,
    ]
    assert saved(session)["tools"] == []


def test_remembered_tool_objects_are_sent_back_unchanged(api, tmp_path):
    session = tmp_path / "c.json"
    api.stream(events([], ["one"]))
    assert run(["generate", "--session", str(session), "--tool", "google_search", "one"]).exit_code == 0
    data = saved(session)
    data["tools"] = [{"type": "google_search", "search_types": ["web_search", "image_search"]}]
    session.write_text(json.dumps(data))
    api.stream(events([], ["two"], interaction_id="v1_2"))
    assert run(["generate", "--session", str(session), "two"]).exit_code == 0
    assert api.bodies()[1]["tools"] == [{"type": "google_search", "search_types": ["web_search", "image_search"]}]


def test_stateless_history_resends_tool_steps_verbatim(api, tmp_path):
    session = tmp_path / "c.json"
    api.stream(search_events())
    api.stream(events([], ["Yes."], interaction_id="v1_2"))
    assert run(["generate", "--no-store", "--session", str(session), "--tool", "google_search", "Who won?"]).exit_code == 0
    assert run(["generate", "--session", str(session), "Sure?"]).exit_code == 0
    second = api.bodies()[1]
    assert second["tools"] == [{"type": "google_search"}]
    assert second["store"] is False
    steps = second["input"]
    assert [s["type"] for s in steps] == ["user_input", "thought", "google_search_call", "google_search_result",
                                          "model_output", "user_input"]
    assert steps[2:4] == SEARCH_STEPS


def test_chat_sends_tools_every_turn(api):
    api.stream(search_events())
    api.stream(events([], ["Again."], interaction_id="v1_2"))
    result = run(["chat", "--no-save", "--tool", "google_search"], input="Who won?\nAnd?\n")
    assert result.exit_code == 0
    assert result.stdout == "Spain won Euro 2024, beating England 2–1.\nAgain.\n"
    assert "search: euro 2024 winner\n" in result.stderr
    assert "[1] UEFA: Final report — https://uefa.example/final\n" in result.stderr
    assert [b["tools"] for b in api.bodies()] == [[{"type": "google_search"}]] * 2


# -- units ---------------------------------------------------------------------------------


def test_tools_helper():
    assert tools(None) == [] and tools(["none"]) == []
    assert tools(["google_search", {"type": "google_search"}, {"type": "url_context"}]) == [
        {"type": "google_search"}, {"type": "url_context"}]


def test_describe_unknown_and_failed_steps():
    assert describe({"type": "google_maps_call", "id": "m"}) == ["tool: google_maps"]
    assert describe({"type": "google_search_result", "is_error": True}) == ["search: failed"]
    assert describe({"type": "file_search_result", "is_error": True}) == ["tool: file_search: failed"]
    assert describe({"type": "google_search_result", "result": []}) == []


def test_citations_kinds_and_dedup():
    steps = [{"type": "model_output", "content": [{"type": "text", "text": "x", "annotations": [
        CITE_1, {"type": "place_citation", "name": "Café", "url": "https://maps.example/cafe"},
        {"type": "file_citation", "file_name": "report.pdf", "document_uri": "https://files.example/r"},
        {"type": "word_info", "text": "x"}, CITE_1_AGAIN, {"type": "url_citation", "title": "no url"}]}]},
        {"type": "thought", "summary": [{"type": "text", "text": "y", "annotations": [CITE_2]}]}]
    assert citations(steps) == [
        {"url": "https://uefa.example/final", "title": "UEFA: Final report"},
        {"url": "https://maps.example/cafe", "title": "Café"},
        {"url": "https://files.example/r", "title": "report.pdf"},
    ]
