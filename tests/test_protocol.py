"""What the API sends that a turn must not mishandle (issue 24, "Protocol"): steps inside
interaction.created/completed and step.start, continuation_token checkpoints, continuation
rules, unknown fields resent verbatim, attachments in server mode, deprecated fields and
--body-extra keys the request does not define. Exact stdout, stderr, request bodies, files."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from conftest import USAGE, sse, text_events
from conftest import run_checked as run
from gemini_cli.errors import ExitCode

MODEL = "gemini-3-flash-preview"
SIG = "c2lnbmF0dXJlLWZyb20tY29tcGxldGVk+/=="
Q1 = {"type": "user_input", "content": [{"type": "text", "text": "q1"}]}
Q2 = {"type": "user_input", "content": [{"type": "text", "text": "q2"}]}


def created(interaction_id: str = "v1_a", **interaction) -> dict:
    return {"event_type": "interaction.created", "interaction": {"id": interaction_id, "status": "in_progress", **interaction}}


def completed(interaction_id: str = "v1_a", status: str = "completed", **interaction) -> dict:
    return {"event_type": "interaction.completed",
            "interaction": {"id": interaction_id, "status": status, "usage": USAGE, **interaction}}


def start(index: int, **step) -> dict:
    return {"event_type": "step.start", "index": index, "step": step}


def delta(index: int, **fields) -> dict:
    return {"event_type": "step.delta", "index": index, "delta": fields}


def stop(index: int) -> dict:
    return {"event_type": "step.stop", "index": index}


def checkpoint(token: str, interaction_id: str = "v1_a") -> dict:
    return {"event_type": "interaction.status_update", "interaction_id": interaction_id, "status": "in_progress",
            "continuation_token": token}


def saved_turns(session: Path) -> list[dict]:
    return json.loads(session.read_text())["turns"]


# -- steps that arrive whole: interaction.completed / created, step.start -----------------------


def test_steps_only_in_interaction_completed_are_printed_and_saved(api, tmp_path):
    steps = [{"type": "thought", "signature": SIG}, {"type": "model_output", "content": [{"type": "text", "text": "Whole"}]}]
    api.stream([created(), completed(steps=steps)])
    session = tmp_path / "s.json"
    result = run(["generate", "--session", str(session), "q1"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Whole\n", "")
    assert saved_turns(session)[0]["steps"] == steps


def test_steps_in_interaction_created_are_printed(api):
    steps = [{"type": "model_output", "content": [{"type": "text", "text": "Early"}]}]
    api.stream([created(steps=steps), completed()])
    result = run(["generate", "--no-save", "q1"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Early\n", "")


def test_completed_steps_fill_what_the_deltas_lacked_and_a_stateless_turn_resends_it(api, tmp_path):
    """The deltas gave the thought no signature and the answer only its start: the final
    snapshot's copy adds both; only the part not printed yet is printed."""
    final = [{"type": "thought", "signature": SIG},
             {"type": "model_output", "content": [{"type": "text", "text": "Hello world",
                                                   "annotations": [{"type": "url_citation", "url": "https://a.b"}]}]}]
    api.stream([created(), start(0, type="thought"), stop(0), start(1, type="model_output"),
                delta(1, type="text", text="Hello"), stop(1), completed(steps=final)])
    api.stream(text_events("Again", interaction_id="v1_b"))
    session = tmp_path / "s.json"
    first = run(["generate", "--no-store", "--session", str(session), "q1"])
    assert (first.exit_code, first.stdout) == (0, "Hello world\n"), first.stderr
    assert run(["generate", "--session", str(session), "q2"]).exit_code == 0
    assert api.bodies()[1]["input"] == [Q1, *final, Q2]


def test_a_step_start_skeleton_with_text_is_printed(api, tmp_path):
    api.stream([created(), start(0, type="model_output", content=[{"type": "text", "text": "Pre"}]),
                delta(0, type="text", text="fix"), stop(0), completed()])
    session = tmp_path / "s.json"
    result = run(["generate", "--session", str(session), "q1"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Prefix\n", "")
    assert saved_turns(session)[0]["steps"] == [{"type": "model_output", "content": [{"type": "text", "text": "Prefix"}]}]


# -- continuation_token checkpoints and continuation rules ---------------------------------------


def test_a_dropped_stream_without_event_ids_is_resumed_from_the_checkpoint(api):
    """No event ids: no GET ?last_event_id=. The checkpoint came after the thought and nothing
    came after it, so the SDK's rule re-creates the interaction from it (stored: chained to
    the interaction that issued it, without input)."""
    api.stream(sse([created(), start(0, type="thought"), delta(0, type="thought_signature", signature="s1"), stop(0),
                    checkpoint("ck1")], done=False))
    api.stream([created("v1_b"), start(0, type="model_output"), delta(0, type="text", text="Hello"), stop(0),
                completed("v1_b")])
    result = run(["generate", "--no-save", "q1"])
    assert (result.exit_code, result.stdout) == (0, "Hello\n"), result.stderr
    assert "resuming from the last checkpoint" in result.stderr
    assert api.bodies() == [{"model": MODEL, "input": "q1", "stream": True},
                            {"model": MODEL, "stream": True, "continuation_token": "ck1", "previous_interaction_id": "v1_a"}]


def test_a_stateless_dropped_stream_is_resumed_from_the_checkpoint_with_the_original_input(api, tmp_path):
    first = text_events("Hel", completed=False)
    first.append(checkpoint("ck1", "v1_abc123"))
    api.stream(sse(first, done=False))
    api.stream([created("v1_b"), start(0, type="model_output"), delta(0, type="text", text="lo"), stop(0),
                completed("v1_b")])
    session = tmp_path / "s.json"
    result = run(["generate", "--no-store", "--session", str(session), "q1"])
    assert (result.exit_code, result.stdout) == (0, "Hello\n"), result.stderr
    original = {"model": MODEL, "input": [Q1], "store": False, "stream": True}
    assert api.bodies() == [original, {**original, "continuation_token": "ck1"}]
    turn = saved_turns(session)[0]
    assert (turn["interaction_id"], turn["status"]) == ("v1_b", "completed")
    assert [step["type"] for step in turn["steps"]] == ["thought", "model_output", "model_output"]


def test_no_checkpoint_resume_once_text_came_after_the_checkpoint(api):
    api.stream(sse([created(), checkpoint("ck1"), start(0, type="model_output"),
                    delta(0, type="text", text="printed")], done=False))
    result = run(["generate", "--no-save", "q1"])
    assert (result.exit_code, result.stdout) == (int(ExitCode.STREAM_INTERRUPTED), "printed\n")
    assert len(api.bodies()) == 1  # re-creating from ck1 would print "printed" again


def test_requires_continuation_without_a_final_token_does_not_continue(api):
    """The final snapshot is authoritative: an older mid-stream checkpoint is not used."""
    api.stream([created(), checkpoint("ck_old"), start(0, type="model_output"), delta(0, type="text", text="A"), stop(0),
                completed(status="requires_continuation")])
    result = run(["generate", "--no-save", "q1"])
    assert (result.exit_code, result.stdout) == (int(ExitCode.NOT_COMPLETED), "A\n")
    assert len(api.bodies()) == 1


def test_no_automatic_continuation_for_an_agent(api):
    api.stream([created(), start(0, type="model_output"), delta(0, type="text", text="A"), stop(0),
                completed(status="requires_continuation", continuation_token="t1")])
    result = run(["generate", "--no-save", "--agent", "deep-research-preview-04-2026", "q1"])
    assert (result.exit_code, result.stdout) == (int(ExitCode.NOT_COMPLETED), "A\n")
    assert api.bodies() == [{"agent": "deep-research-preview-04-2026", "input": "q1", "background": True, "stream": True}]


def test_no_automatic_continuation_for_a_background_interaction_followed(api):
    api.json({"id": "v1_bg", "status": "in_progress"})
    api.stream([created("v1_bg"), start(0, type="model_output"), delta(0, type="text", text="A"), stop(0),
                completed("v1_bg", status="requires_continuation", continuation_token="t1")],
               path="/v1beta/interactions/v1_bg", method="GET")
    assert run(["generate", "--background", "q1"]).exit_code == 0
    result = run(["history", "fetch", "--stream", "v1_bg"])
    assert result.stdout == "A\n"
    assert len(api.bodies()) == 2  # the create and the GET: never a continuation POST


def test_no_automatic_continuation_for_a_background_body(api):
    """turn.run itself: a background interaction's requires_continuation is the server's to go on with."""
    from gemini_cli.api.client import ApiClient
    from gemini_cli.render.output import JsonRenderer
    from gemini_cli.runs import turn

    api.json({"id": "v1_bg", "status": "requires_continuation", "continuation_token": "t1", "steps": []})
    client = ApiClient(base_url=api.base_url, api_version="v1beta", api_key="k" * 20, retries=0)
    try:
        outcome = turn.run(client, {"model": MODEL, "input": "q1", "background": True}, JsonRenderer())
    finally:
        client.close()
    assert (outcome.error, outcome.result["status"]) == (None, "requires_continuation")
    assert len(api.bodies()) == 1


# -- one rule for unknown fields -----------------------------------------------------------------


def test_unknown_fields_from_a_delta_and_a_step_start_are_resent_alike(api, tmp_path):
    """The same unknown field arriving in a step.start, a delta or a unary answer is kept on
    its step and resent verbatim in stateless mode (the SDK keeps unknown fields)."""
    api.stream([created(), start(0, type="google_search_call", id="g1", trace={"from": "start"}),
                delta(0, type="google_search_call", arguments={"queries": ["q"]}, signature="s", trace2={"from": "delta"}),
                stop(0), start(1, type="model_output"), delta(1, type="text", text="A", lang="en"), stop(1), completed()])
    api.json({"id": "v1_b", "status": "completed", "steps": [
        {"type": "google_search_call", "id": "g2", "arguments": {"queries": ["r"]}, "trace": {"from": "unary"}},
        {"type": "model_output", "content": [{"type": "text", "text": "B", "lang": "en"}]}]})
    api.stream(text_events("C", interaction_id="v1_c"))
    session = tmp_path / "s.json"
    assert run(["generate", "--no-store", "--session", str(session), "q1"]).exit_code == 0
    assert run(["generate", "--no-stream", "--session", str(session), "q2"]).exit_code == 0
    assert run(["generate", "--session", str(session), "q3"]).exit_code == 0
    assert api.bodies()[2]["input"][:6] == [
        Q1,
        {"type": "google_search_call", "id": "g1", "trace": {"from": "start"}, "arguments": {"queries": ["q"]},
         "signature": "s", "trace2": {"from": "delta"}},
        {"type": "model_output", "content": [{"type": "text", "text": "A", "lang": "en"}]},
        Q2,
        {"type": "google_search_call", "id": "g2", "arguments": {"queries": ["r"]}, "trace": {"from": "unary"}},
        {"type": "model_output", "content": [{"type": "text", "text": "B", "lang": "en"}]},
    ]
    assert "unplaced_deltas" not in saved_turns(session)[0]


# -- request bodies ------------------------------------------------------------------------------


def test_server_mode_attachments_go_in_one_user_input_step(api, tmp_path):
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(8))
    api.stream(text_events("ok"))
    result = run(["generate", "--no-save", "-a", str(image), "what is this?"])
    assert result.exit_code == 0, result.stderr
    assert api.bodies()[0]["input"] == [{"type": "user_input", "content": [
        {"type": "image", "data": "iVBORw0KGgoAAAAAAAAAAA==", "mime_type": "image/png"},
        {"type": "text", "text": "what is this?"}]}]


NOTE = ("gemini-cli: generation_config.temperature and top_p are deprecated on the Interactions API "
        "(google-genai 3.3.0); sent as asked\n")


def test_temperature_and_top_p_are_sent_with_one_deprecation_note_per_run(api):
    api.stream(text_events("one"))
    api.stream(text_events("two", interaction_id="v1_two"))
    result = run(["chat", "--no-save", "--temperature", "0.5", "--top-p", "0.9"], input="a\nb\n")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("deprecated") == 1 and NOTE in result.stderr
    assert [body["generation_config"] for body in api.bodies()] == [{"temperature": 0.5, "top_p": 0.9}] * 2


def test_the_deprecation_note_is_not_shown_with_quiet(api):
    api.stream(text_events("ok"))
    result = run(["generate", "-q", "--no-save", "--temperature", "0.5", "q1"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")
    assert api.bodies()[0]["generation_config"] == {"temperature": 0.5}


def test_body_extra_keys_the_request_does_not_define_are_warned_and_sent(api):
    api.stream(text_events("ok"))
    extra = {"generation_config": {"bogus": 1, "seed": 3, "video_config": {"task": "edit", "tsak": 1}},
             "labels": {"team": "x"}, "webhook_config": {"uris": ["https://h"]}, "safety_setings": []}
    result = run(["generate", "--no-save", "--body-extra", json.dumps(extra), "q1"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == ("gemini-cli: warning: --body-extra sets generation_config.bogus, "
                             "generation_config.video_config.tsak, safety_setings, which the create request does "
                             "not define (a typo?); sending it as given\n")
    assert api.bodies()[0] == {"model": MODEL, "input": "q1", "stream": True, **extra}


def test_body_extra_known_keys_are_silent(api):
    api.stream(text_events("ok"))
    extra = {"generation_config": {"seed": 3, "tool_choice": {"allowed_tools": {"mode": "auto"}}},
             "safety_settings": [{"type": "harassment", "threshold": "off"}], "labels": {"any_label": "v"}}
    result = run(["generate", "--no-save", "--body-extra", json.dumps(extra), "q1"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")


def test_the_request_schema_knows_word_info_indexes_and_the_retrieval_configs():
    schema = json.loads((Path(__file__).parent / "data" / "interactions_request.schema.json").read_text())
    validator = Draft202012Validator(schema)
    body = {"model": MODEL, "tools": [{"type": "retrieval", "retrieval_types": ["rag_store"],
                                       "vertex_ai_search_config": {}, "rag_store_config": {"rag_resources": []},
                                       "exa_ai_search_config": {"api_key": "k"}, "parallel_ai_search_config": {}}],
            "input": [Q1, {"type": "model_output", "content": [{"type": "text", "text": "hi", "annotations": [
                {"type": "word_info", "text": "hi", "start_index": 0, "end_index": 2}]}]}, Q2]}
    assert [error.message for error in validator.iter_errors(body)] == []
