"""InteractionBuilder: reassembling an Interaction from stream events and hops."""

from __future__ import annotations

import copy

import pytest

from conftest import INTERACTION_ID, USAGE, interaction, text_events
from gemini_cli.api.events import InteractionBuilder, output_text


def build(*hops: list[dict]) -> InteractionBuilder:
    """Feed streamed hops as turn.py does: begin_hop, then every event."""
    builder = InteractionBuilder()
    for events in hops:
        builder.begin_hop()
        for event in events:
            builder.feed(copy.deepcopy(event))
    return builder


def delta(index: int, **fields) -> dict:
    return {"event_type": "step.delta", "index": index, "delta": fields}


def test_a_text_stream():
    builder = build(text_events("Hello", ", world", signature="c2ln+/=="))
    assert builder.completed
    assert (builder.id, builder.status, builder.hops, builder.last_event_id) == (INTERACTION_ID, "completed", 1, "e9")
    assert builder.result() == {
        "id": INTERACTION_ID, "status": "completed", "object": "interaction", "model": "gemini-3-flash-preview",
        "steps": [{"type": "thought", "signature": "c2ln+/=="},
                  {"type": "model_output", "content": [{"type": "text", "text": "Hello, world"}]}],
        "usage": USAGE, "output_text": "Hello, world",
    }


def test_incomplete_stream_is_not_completed():
    builder = build(text_events("Hel", completed=False))
    assert not builder.completed
    assert builder.status == "in_progress"
    assert builder.result()["output_text"] == "Hel"
    assert "usage" not in builder.result()


def test_steps_are_not_shared_with_the_events():
    start = {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}}
    builder = InteractionBuilder()
    builder.feed(start)
    builder.feed(delta(0, type="text", text="x"))
    assert start["step"] == {"type": "model_output"}


def test_step_start_content_is_extended():
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "model_output", "content": [{"type": "text", "text": "Pre"}]}},
        delta(0, type="text", text="fix"),
    ])
    assert builder.result()["steps"] == [{"type": "model_output", "content": [{"type": "text", "text": "Prefix"}]}]


def test_multi_hop_index_offsets():
    first = text_events("A", status="requires_continuation", extra={"continuation_token": "t1"}, signature="s1")
    second = text_events("B", interaction_id="v1_hop2", signature="s2")
    builder = build(first, second)
    result = builder.result()
    assert builder.hops == 2
    assert [step.get("signature") or step["content"][0]["text"] for step in result["steps"]] == ["s1", "A", "s2", "B"]
    # output_text as the SDK computes it for each hop's interaction, joined across the hops
    assert (result["id"], result["status"], result["output_text"]) == ("v1_hop2", "completed", "AB")


def test_created_after_completed_starts_a_new_hop_by_itself():
    # A stream that carries both hops (no begin_hop between them).
    first = text_events("A", status="requires_continuation", extra={"continuation_token": "t1"})
    second = text_events("B", interaction_id="v1_hop2")
    builder = InteractionBuilder()
    for event in copy.deepcopy(first + second):
        builder.feed(event)
    assert builder.hops == 2
    assert len(builder.result()["steps"]) == 4
    assert builder.result()["output_text"] == "AB"  # each hop as the SDK computes it, joined


def test_usage_is_summed_across_hops():
    first = text_events("A", status="requires_continuation", usage={**USAGE, "initial_input_tokens": 5})
    second = text_events("B", usage={**USAGE, "initial_input_tokens": 5, "total_cached_tokens": 2})
    assert build(first, second).usage == {
        "total_input_tokens": 10, "total_output_tokens": 14, "total_thought_tokens": 6, "total_tokens": 30,
        "initial_input_tokens": 5, "total_cached_tokens": 2,
    }


def test_usage_within_a_hop_is_not_double_counted():
    events = text_events("A")
    events[0]["interaction"]["usage"] = {"total_input_tokens": 5, "total_tokens": 5}  # an early report
    assert build(events).usage == USAGE  # the completed event's figures, once


def test_usage_non_streamed_hops_summed():
    builder = InteractionBuilder()
    builder.add_interaction(interaction("A", status="requires_continuation", continuation_token="t1"))
    builder.add_interaction(interaction("B", interaction_id="v1_hop2"))
    assert builder.usage == {key: 2 * value for key, value in USAGE.items()}
    assert builder.result()["output_text"] == "AB"  # each hop as the SDK computes it, joined
    assert builder.hops == 2


def test_no_usage_reported():
    assert build(text_events("A", usage=None)).usage is None
    assert "usage" not in build(text_events("A", usage=None)).result()


def test_later_hops_drop_echoed_user_input():
    builder = InteractionBuilder()
    first = interaction("A", status="requires_continuation", continuation_token="t1")
    first["steps"].insert(0, {"type": "user_input", "content": [{"type": "text", "text": "hi"}]})
    second = interaction("B", interaction_id="v1_hop2")
    second["steps"].insert(0, {"type": "user_input", "content": [{"type": "text", "text": "hi"}]})
    builder.add_interaction(first)
    builder.add_interaction(second)
    types = [step["type"] for step in builder.result()["steps"]]
    assert types == ["user_input", "thought", "model_output", "thought", "model_output"]
    assert builder.result()["output_text"] == "AB"  # each hop as the SDK computes it, joined


def test_non_streamed_steps_are_kept_verbatim():
    body = interaction("x")
    body["steps"][0] = {"type": "thought", "signature": "Zm9v/+==", "summary": [{"type": "text", "text": "s"}], "extra": {"k": [1]}}
    builder = InteractionBuilder()
    builder.add_interaction(copy.deepcopy(body))
    assert builder.result() == {**body, "output_text": "x"}


def test_thought_summary_and_signature():
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "thought", "signature": ""}},
        delta(0, type="thought_summary", content={"type": "text", "text": "First "}),
        delta(0, type="thought_summary", content={"type": "text", "text": "second."}),
        delta(0, type="thought_summary", content={"type": "image", "data": "aW1n", "mime_type": "image/png"}),
        delta(0, type="thought_summary", content={"type": "text", "text": "After image."}),
        delta(0, type="thought_signature", signature="c2lnbmF0dXJl"),
        {"event_type": "step.stop", "index": 0},
    ])
    assert builder.result()["steps"] == [{
        "type": "thought", "signature": "c2lnbmF0dXJl",
        "summary": [{"type": "text", "text": "First second."}, {"type": "image", "data": "aW1n", "mime_type": "image/png"},
                    {"type": "text", "text": "After image."}],
    }]


def test_function_call_arguments_delta():
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "function_call", "id": "fc_1", "name": "f", "arguments": {}}},
        delta(0, type="arguments_delta", arguments='{"city": "Bo'),
        delta(0, type="arguments_delta", arguments='ston", "n": 2}'),
        {"event_type": "step.stop", "index": 0},
        {"event_type": "step.start", "index": 1, "step": {"type": "function_call", "id": "fc_2", "name": "g", "arguments": {}}},
        {"event_type": "step.stop", "index": 1},
    ])
    assert builder.result()["steps"] == [
        {"type": "function_call", "id": "fc_1", "name": "f", "arguments": {"city": "Boston", "n": 2}},
        {"type": "function_call", "id": "fc_2", "name": "g", "arguments": {}},
    ]


def test_function_call_arguments_that_are_not_json_are_kept_raw():
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "function_call", "id": "fc_1", "name": "f", "arguments": {}}},
        delta(0, type="arguments_delta", arguments='{"city": '),
        {"event_type": "step.stop", "index": 0},
    ])
    assert builder.result()["steps"][0]["arguments"] == '{"city": '


def test_arguments_of_concurrent_calls_do_not_mix():
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "function_call", "id": "a", "name": "f", "arguments": {}}},
        {"event_type": "step.start", "index": 1, "step": {"type": "function_call", "id": "b", "name": "g", "arguments": {}}},
        delta(0, type="arguments_delta", arguments='{"x": '),
        delta(1, type="arguments_delta", arguments='{"y": 2}'),
        delta(0, type="arguments_delta", arguments='1}'),
        {"event_type": "step.stop", "index": 1},
        {"event_type": "step.stop", "index": 0},
    ])
    assert [step["arguments"] for step in builder.result()["steps"]] == [{"x": 1}, {"y": 2}]


def test_text_annotation_delta():
    citation = {"type": "url_citation", "url": "https://example.com", "title": "Ex", "start_index": 0, "end_index": 5}
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
        delta(0, type="text", text="Hello"),
        delta(0, type="text_annotation_delta", annotations=[citation]),
        delta(0, type="text", text=" there"),
        delta(0, type="text_annotation_delta", annotations=[{**citation, "start_index": 6}]),
    ])
    assert builder.result()["steps"][0]["content"] == [
        {"type": "text", "text": "Hello there", "annotations": [citation, {**citation, "start_index": 6}]},
    ]


def test_annotation_before_any_text_starts_an_empty_text_block():
    citation = {"type": "url_citation", "url": "u"}
    builder = build([delta(0, type="text_annotation_delta", annotations=[citation]), delta(0, type="text", text="x")])
    assert builder.result()["steps"] == [{"content": [{"type": "text", "text": "x", "annotations": [citation]}]}]


def test_binary_deltas_become_content_blocks():
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
        delta(0, type="text", text="Here:"),
        delta(0, type="image", data="iVBORw0KGgo=", mime_type="image/png"),
        delta(0, type="audio", uri="https://example.com/a.wav", mime_type="audio/wav", sample_rate=24000),
        delta(0, type="text", text="Done."),
    ])
    assert builder.result()["steps"][0]["content"] == [
        {"type": "text", "text": "Here:"},
        {"type": "image", "data": "iVBORw0KGgo=", "mime_type": "image/png"},
        {"type": "audio", "uri": "https://example.com/a.wav", "mime_type": "audio/wav", "sample_rate": 24000},
        {"type": "text", "text": "Done."},
    ]
    assert builder.result()["output_text"] == "Done."  # the trailing run of text blocks only


def test_tool_deltas_replace_fields():
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "google_search_call", "id": "s1", "signature": ""}},
        delta(0, type="google_search_call", arguments={"queries": ["weather"]}, signature="sig1"),
        {"event_type": "step.start", "index": 1, "step": {"type": "google_search_result", "call_id": "s1", "signature": ""}},
        delta(1, type="google_search_result", result=[{"search_suggestions": "<div/>"}], is_error=False, signature="sig2"),
        {"event_type": "step.start", "index": 2, "step": {"type": "function_result", "call_id": "fc"}},
        delta(2, type="function_result", result={"ok": True}, name="f"),
        {"event_type": "step.start", "index": 3, "step": {"type": "code_execution_call", "id": "c"}},
        delta(3, type="code_execution_call", arguments={"code": "print(1)", "language": "python"}),
        delta(3, type="code_execution_call", arguments={"code": "print(2)", "language": "python"}),
    ])
    assert builder.result()["steps"] == [
        {"type": "google_search_call", "id": "s1", "signature": "sig1", "arguments": {"queries": ["weather"]}},
        {"type": "google_search_result", "call_id": "s1", "signature": "sig2",
         "result": [{"search_suggestions": "<div/>"}], "is_error": False},
        {"type": "function_result", "call_id": "fc", "result": {"ok": True}, "name": "f"},
        {"type": "code_execution_call", "id": "c", "arguments": {"code": "print(2)", "language": "python"}},
    ]


def test_unknown_deltas_are_kept():
    # A delta of a type we do not know on a model_output step is a content block of that
    # type, kept whole (as an unknown block in a unary answer is); one without a type has no place.
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
        delta(0, type="text", text="a"),
        delta(0, type="hologram", frames=[1, 2]),
        delta(0, frames=3),
        delta(0, type="text", text="b"),
    ])
    result = builder.result()
    assert result["steps"] == [{"type": "model_output", "content": [
        {"type": "text", "text": "a"}, {"type": "hologram", "frames": [1, 2]}, {"type": "text", "text": "b"}]}]
    assert result["unplaced_deltas"] == [{"index": 0, "delta": {"frames": 3}}]


def test_unplaced_index_is_the_position_in_steps():
    builder = build([
        {"event_type": "step.start", "index": 2, "step": {"type": "thought"}},
        delta(2, type="hologram"),
    ])
    result = builder.result()
    assert result["steps"] == [{"type": "thought"}]
    assert result["unplaced_deltas"] == [{"index": 0, "delta": {"type": "hologram"}}]


def test_delta_fields_go_only_where_the_step_type_has_them():
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
        delta(0, type="audio", data="AAAA", mime_type="audio/l16", rate=24000, sample_rate=24000),
        delta(0, type="image", data="iVBO", mime_type="image/png", resolution="high"),
        {"event_type": "step.start", "index": 1, "step": {"type": "file_search_result", "call_id": "f1"}},
        delta(1, type="file_search_result", result=[{"x": 1}], signature="s"),
        {"event_type": "step.start", "index": 2, "step": {"type": "thought"}},
        delta(2, type="google_search_call", arguments={"queries": ["q"]}),
    ])
    result = builder.result()
    assert result["steps"] == [
        {"type": "model_output", "content": [
            {"type": "audio", "data": "AAAA", "mime_type": "audio/l16", "sample_rate": 24000},
            {"type": "image", "data": "iVBO", "mime_type": "image/png", "resolution": "high"}]},
        {"type": "file_search_result", "call_id": "f1", "signature": "s"},
        {"type": "thought"},
    ]
    assert result["unplaced_deltas"] == [
        {"index": 0, "delta": {"type": "audio", "rate": 24000}},
        {"index": 1, "delta": {"type": "file_search_result", "result": [{"x": 1}]}},
        {"index": 2, "delta": {"type": "google_search_call", "arguments": {"queries": ["q"]}}},
    ]


def test_unknown_events_and_steps_are_tolerated():
    builder = build([
        {"event_type": "interaction.created", "interaction": {"id": "x", "status": "in_progress"}},
        {"event_type": "future.event", "index": 0, "delta": {"type": "text", "text": "no"}},
        {"no_event_type": True},
        {"event_type": "step.start", "index": 0, "step": {"type": "hologram_call", "id": "h"}},
        {"event_type": "step.stop", "index": 0},
        {"event_type": "interaction.completed", "interaction": {"id": "x", "status": "completed"}},
    ])
    assert builder.result() == {"id": "x", "status": "completed", "steps": [{"type": "hologram_call", "id": "h"}], "output_text": ""}


def test_status_update_events():
    builder = build([
        {"event_type": "interaction.created", "interaction": {"id": "x", "status": "in_progress"}},
        {"event_type": "interaction.status_update", "interaction_id": "x", "status": "requires_continuation",
         "continuation_token": "ckpt"},
    ])
    # a mid-stream token is a checkpoint for resuming a dropped stream, not the hop's final token
    assert (builder.status, builder.checkpoint) == ("requires_continuation", {"id": "x", "continuation_token": "ckpt"})
    assert "continuation_token" not in builder.interaction
    builder.feed({"event_type": "interaction.requires_action"})  # the migration-era name
    assert builder.status == "requires_action"
    assert not builder.completed


def test_error_event_is_recorded():
    builder = build([{"event_type": "error", "error": {"code": "gateway_timeout", "message": "late"}}])
    assert builder.error == {"code": "gateway_timeout", "message": "late"}
    assert build([{"event_type": "error"}]).error == {"message": "the stream reported an error"}


def test_completed_with_steps_and_no_deltas():
    steps = [{"type": "model_output", "content": [{"type": "text", "text": "whole"}]}]
    builder = build([{"event_type": "interaction.completed", "interaction": {"id": "x", "status": "completed", "steps": steps}}])
    assert builder.result()["steps"] == steps
    assert builder.result()["output_text"] == "whole"


def test_delta_without_step_start_or_index():
    builder = build([delta(2, type="text", text="x"), {"event_type": "step.delta", "delta": {"type": "text", "text": "y"}}])
    assert builder.result()["steps"] == [{"content": [{"type": "text", "text": "y"}]}, {"content": [{"type": "text", "text": "x"}]}]


def test_last_event_id_tracks_the_latest_id():
    builder = build(text_events("a", "b", completed=False))
    assert builder.last_event_id == "t1"


# -- output_text --------------------------------------------------------------------------


def text_step(*texts: str, kind: str = "model_output") -> dict:
    return {"type": kind, "content": [{"type": "text", "text": text} for text in texts]}


@pytest.mark.parametrize(
    "steps, expected",
    [
        ([], ""),
        ([text_step("a", "b")], "ab"),
        ([{"type": "thought", "signature": "s"}, text_step("a")], "a"),
        ([text_step("a"), {"type": "function_call", "id": "f"}, text_step("b")], "b"),
        ([text_step("a"), text_step("b", "c")], "abc"),  # consecutive model_output steps join
        ([text_step("a"), {"type": "thought", "signature": "s"}], "a"),  # trailing non-model steps skipped
        ([{"type": "model_output", "content": [{"type": "text", "text": "a"}, {"type": "image", "data": "x"},
                                               {"type": "text", "text": "b"}]}], "b"),
        ([text_step("a"), {"type": "model_output", "content": [{"type": "image", "data": "x"}]}], "a"),
        ([text_step("a"), {"type": "model_output", "content": "not a list"}], "a"),
        ([text_step("old"), text_step("q", kind="user_input"), text_step("new")], "new"),
        ([text_step("a"), text_step("q", kind="user_input")], ""),
        ([{"type": "model_output", "content": [{"type": "image", "data": "x"}, {"type": "text", "text": "t"}]}], "t"),
        ([{"type": "model_output"}], ""),
        ([{"type": "thought", "summary": [{"type": "text", "text": "thinking"}]}], ""),
    ],
)
def test_output_text(steps, expected):
    assert output_text(steps) == expected


def test_a_step_index_at_most_16_past_the_steps_seen_is_kept_further_is_dropped():
    from gemini_cli.api.events import INDEX_SLACK

    builder = InteractionBuilder()
    builder.begin_hop()
    builder.feed({"event_type": "step.start", "index": INDEX_SLACK, "step": {"type": "model_output"}})
    assert (len(builder.steps), builder.problems) == (INDEX_SLACK + 1, [])
    builder.feed({"event_type": "step.start", "index": 2 * INDEX_SLACK + 2, "step": {"type": "model_output"}})
    builder.feed({"event_type": "step.delta", "index": -1, "delta": {"type": "text", "text": "x"}})
    assert len(builder.steps) == INDEX_SLACK + 1
    assert builder.problems == ["a step index far past the steps seen, such as 34 (its events were dropped)"]
    assert builder.result()["steps"] == [{"type": "model_output"}]


def test_arguments_nested_too_deeply_are_kept_as_text():
    builder = InteractionBuilder()
    builder.begin_hop()
    deep = "[" * 100_000 + "]" * 100_000
    builder.feed({"event_type": "step.start", "index": 0, "step": {"type": "google_search_call"}})
    builder.feed({"event_type": "step.delta", "index": 0, "delta": {"type": "arguments_delta", "arguments": deep}})
    builder.feed({"event_type": "step.stop", "index": 0})
    assert builder.result()["steps"][0]["arguments"] == deep


# -- usage in every place it can arrive, summed across hops (issue 24) -----------------------------


def test_usage_lists_and_grounding_counts_are_summed_across_hops():
    first = {"total_tokens": 10, "input_tokens_by_modality": [{"modality": "text", "tokens": 4}, {"modality": "image", "tokens": 6}],
             "grounding_tool_count": [{"type": "google_search", "count": 1}]}
    second = {"total_tokens": 5, "input_tokens_by_modality": [{"modality": "text", "tokens": 5}],
              "output_tokens_by_modality": [{"modality": "text", "tokens": 2}],
              "grounding_tool_count": [{"type": "google_search", "count": 2}, {"type": "google_maps", "count": 1}, "odd"]}
    builder = InteractionBuilder()
    builder.add_interaction({"id": "a", "status": "requires_continuation", "usage": first})
    builder.add_interaction({"id": "b", "status": "completed", "usage": second})
    assert builder.usage == {
        "total_tokens": 15,
        "input_tokens_by_modality": [{"modality": "text", "tokens": 9}, {"modality": "image", "tokens": 6}],
        "grounding_tool_count": [{"type": "google_search", "count": 3}, {"type": "google_maps", "count": 1}, "odd"],
        "output_tokens_by_modality": [{"modality": "text", "tokens": 2}],
    }
    assert first["input_tokens_by_modality"][0] == {"modality": "text", "tokens": 4}  # the hop's own report is untouched


@pytest.mark.parametrize("where", ["status_update", "step.stop", "metadata"])
def test_usage_that_arrives_only_outside_interaction_completed_is_read(where):
    usage = {"total_input_tokens": 3, "total_tokens": 8}
    events = text_events("A", usage=None)
    if where == "status_update":
        events[1]["usage"] = usage
    elif where == "step.stop":
        next(e for e in events if e["event_type"] == "step.stop" and e["index"] == 1)["usage"] = usage
    else:
        next(e for e in events if e["event_type"] == "step.delta" and e["index"] == 1)["metadata"] = {"total_usage": usage}
    assert build(events).result()["usage"] == usage


def test_the_latest_usage_report_of_a_hop_wins():
    events = text_events("A", usage={"total_tokens": 9})
    events[1]["usage"] = {"total_tokens": 2}
    assert build(events).usage == {"total_tokens": 9}


# -- steps inside interaction.created/completed and step.start (issue 24) -----------------------------


def test_completed_steps_are_merged_with_the_streamed_ones_and_the_rest_is_unshown():
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "thought"}},
        {"event_type": "step.stop", "index": 0},
        {"event_type": "step.start", "index": 1, "step": {"type": "model_output"}},
        delta(1, type="text", text="Hel"),
        {"event_type": "interaction.completed", "interaction": {"id": "x", "status": "completed", "steps": [
            {"type": "user_input", "content": [{"type": "text", "text": "echo"}]},  # an echo of the input: skipped
            {"type": "thought", "signature": "sig", "summary": [{"type": "text", "text": "t"}]},
            {"type": "model_output", "content": [{"type": "text", "text": "Hello"}, {"type": "image", "uri": "u"}]},
            {"type": "google_search_call", "id": "g", "arguments": {"queries": ["q"]}}]}},
    ])
    assert builder.result()["steps"] == [
        {"type": "thought", "signature": "sig", "summary": [{"type": "text", "text": "t"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "Hello"}, {"type": "image", "uri": "u"}]},
        {"type": "google_search_call", "id": "g", "arguments": {"queries": ["q"]}},
    ]
    assert builder.take_unshown() == [
        {"type": "thought", "summary": [{"type": "text", "text": "t"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "lo"}, {"type": "image", "uri": "u"}]},
        {"type": "google_search_call", "id": "g", "arguments": {"queries": ["q"]}},
    ]
    assert builder.take_unshown() == []


def test_completed_steps_that_disagree_with_the_streamed_ones_leave_them_as_they_are():
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
        delta(0, type="text", text="streamed"),
        {"event_type": "interaction.completed", "interaction": {"id": "x", "status": "completed", "steps": [
            {"type": "function_call", "id": "f", "name": "n", "arguments": {}}]}},
    ])
    assert builder.result()["steps"] == [{"type": "model_output", "content": [{"type": "text", "text": "streamed"}]}]
    assert builder.take_unshown() == []
    assert builder.problems == ["steps in the final interaction that do not match the streamed ones (the streamed steps were kept)"]


def test_a_step_start_skeleton_whose_content_cannot_be_read_loses_it_with_a_problem():
    builder = build([{"event_type": "step.start", "index": 0, "step": {"type": "model_output", "content": "text"}}])
    assert builder.result()["steps"] == [{"type": "model_output"}]
    assert builder.problems == ["a model_output step.start that has a content that is not a list of objects (its blocks were dropped)"]


# -- one rule for unknown fields (issue 24) ------------------------------------------------------------


def test_unknown_delta_fields_go_where_the_delta_fields_go():
    builder = build([
        {"event_type": "step.start", "index": 0, "step": {"type": "thought"}},
        delta(0, type="thought_summary", content={"type": "text", "text": "t", "tone": "calm"}, depth=2),
        delta(0, type="thought_summary", content={"type": "audio", "data": "AA=="}),  # no place in a summary
        delta(0, type="thought_signature", signature="s", v=1),
        {"event_type": "step.start", "index": 1, "step": {"type": "function_call", "id": "f", "name": "n", "arguments": {}}},
        delta(1, type="arguments_delta", arguments="{}", partial=False),
        {"event_type": "step.stop", "index": 1},
        {"event_type": "step.start", "index": 2, "step": {"type": "model_output"}},
        delta(2, type="text", text="a", lang="en"),
        delta(2, type="text_annotation_delta", annotations=[], source="x"),
        delta(2, type="image", data="iVBO", mime_type="image/png", dpi=72),
        {"event_type": "step.start", "index": 3, "step": {"type": "hologram_call", "id": "h"}},
        delta(3, type="hologram_call", beam=1),
    ])
    result = builder.result()
    assert result["steps"] == [
        {"type": "thought", "summary": [{"type": "text", "text": "t", "tone": "calm"}], "depth": 2, "signature": "s", "v": 1},
        {"type": "function_call", "id": "f", "name": "n", "arguments": {}, "partial": False},
        {"type": "model_output", "content": [{"type": "text", "text": "a", "lang": "en", "annotations": [], "source": "x"},
                                             {"type": "image", "data": "iVBO", "mime_type": "image/png", "dpi": 72}]},
        {"type": "hologram_call", "id": "h", "beam": 1},
    ]
    assert result["unplaced_deltas"] == [
        {"index": 0, "delta": {"type": "thought_summary", "content": {"type": "audio", "data": "AA=="}}}]


def test_a_checkpoint_is_usable_only_until_a_step_event_follows_it():
    builder = build([
        {"event_type": "interaction.created", "interaction": {"id": "x", "status": "in_progress"}},
        {"event_type": "interaction.status_update", "status": "in_progress", "continuation_token": "ck"},
    ])
    assert builder.resumable_checkpoint == {"id": "x", "continuation_token": "ck"}
    builder.feed({"event_type": "step.start", "index": 0, "step": {"type": "model_output"}})
    assert builder.resumable_checkpoint is None
    builder.feed({"event_type": "interaction.status_update", "interaction_id": "y", "continuation_token": "ck2"})
    assert builder.resumable_checkpoint == {"id": "y", "continuation_token": "ck2"}


def test_a_hop_without_a_token_does_not_inherit_the_previous_hops():
    builder = InteractionBuilder()
    builder.add_interaction({"id": "a", "status": "requires_continuation", "continuation_token": "t1"})
    builder.add_interaction({"id": "b", "status": "requires_continuation"})
    assert "continuation_token" not in builder.result()
