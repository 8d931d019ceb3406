"""What stateless mode resends is what the API knows: no invented keys on a saved step, no
unanswered function call (exact request bodies received by a loopback server)."""

from __future__ import annotations

import json

from conftest import interaction, sse, text_events
from conftest import run_checked as run

USER1 = {"type": "user_input", "content": [{"type": "text", "text": "q1"}]}
USER2 = {"type": "user_input", "content": [{"type": "text", "text": "q2"}]}


def odd_deltas_stream() -> list[dict]:
    """A turn with an unknown delta type and an audio delta carrying the deprecated `rate`."""
    events = text_events("Hi")
    stop = next(i for i, e in enumerate(events) if e["event_type"] == "step.stop" and e["index"] == 1)
    events[stop:stop] = [
        {"event_type": "step.delta", "index": 1, "delta": {"type": "hologram", "frames": 3}},
        {"event_type": "step.delta", "index": 1,
         "delta": {"type": "audio", "data": "UklGRg==", "mime_type": "audio/wav", "rate": 24000}},
    ]
    return events


def test_an_unknown_delta_type_is_resent_as_its_block_and_the_audio_rate_is_not(api, home, tmp_path):
    session = tmp_path / "s.json"
    api.stream(odd_deltas_stream())
    api.stream(text_events("Again", interaction_id="v1_two"))
    media = tmp_path / "media"
    media.mkdir()
    first = run(["generate", "--no-store", "--session", str(session), "--media-dir", str(media), "q1"])
    assert first.exit_code == 0, first.stderr
    assert run(["generate", "--session", str(session), "q2"]).exit_code == 0
    second = api.bodies()[1]
    assert second["input"] == [
        USER1,
        {"type": "thought", "signature": "c2lnbmF0dXJlLWJ5dGVz+/=="},
        {"type": "model_output", "content": [{"type": "text", "text": "Hi"}, {"type": "hologram", "frames": 3},
                                             {"type": "audio", "data": "UklGRg==", "mime_type": "audio/wav"}]},
        USER2,
    ]
    saved = json.loads(session.read_text())
    # `rate` is a field the audio delta defines and an audio block lacks: it has no place on a step
    assert saved["turns"][0]["unplaced_deltas"] == [{"index": 1, "delta": {"type": "audio", "rate": 24000}}]


def test_a_file_with_keys_written_by_older_builds_is_cleaned_on_read(api, tmp_path):
    session = tmp_path / "old.json"
    session.write_text(json.dumps({
        "format": "gemini-cli.conversation", "version": 1, "id": "c0123456789ab", "title": "q1",
        "created": "", "updated": "", "model": "gemini-3-flash-preview", "store": False,
        "system_instruction": None, "generation_config": {}, "tools": [], "response_format": None,
        "turns": [{"interaction_id": "v1_one", "status": "completed", "created": "", "model": "gemini-3-flash-preview",
                   "input": [USER1], "usage": None, "steps": [
                       {"type": "model_output", "content": [{"type": "audio", "data": "AA==", "mime_type": "audio/wav", "rate": 8000}],
                        "unknown_deltas": [{"type": "hologram"}]}]}],
    }))
    api.stream(text_events("ok", interaction_id="v1_two"))
    assert run(["generate", "--session", str(session), "q2"]).exit_code == 0
    assert api.bodies()[0]["input"] == [
        USER1, {"type": "model_output", "content": [{"type": "audio", "data": "AA==", "mime_type": "audio/wav"}]}, USER2,
    ]
    saved = json.loads(session.read_text())
    assert saved["turns"][0]["unplaced_deltas"] == [{"index": 0, "delta": {"type": "hologram"}},
                                                    {"index": 0, "delta": {"type": "audio", "rate": 8000}}]
    assert "unknown_deltas" not in saved["turns"][0]["steps"][0]


CALL = {"type": "function_call", "id": "fc_1", "name": "get_weather", "arguments": {"location": "Boston"}}
THOUGHT = {"type": "thought", "signature": "c2ln"}


def test_requires_action_turn_with_an_undeclared_call_is_answered_and_resent(api, tmp_path):
    session = tmp_path / "s.json"
    api.json({"id": "v1_one", "status": "requires_action", "steps": [THOUGHT, CALL]})
    api.json(interaction("fine", interaction_id="v1_two"))
    api.json(interaction("ok", interaction_id="v1_three"))
    first = run(["generate", "--no-store", "--no-stream", "--session", str(session), "q1"])
    assert (first.exit_code, first.stdout) == (14, "fine\n")  # a call no one declared: refused, the answer printed
    assert "get_weather (not declared)" in first.stderr
    [result] = api.bodies()[1]["input"][3:]
    assert api.bodies()[1]["input"][:3] == [USER1, THOUGHT, CALL]
    assert (result["type"], result["call_id"], result["name"], result["is_error"]) == (
        "function_result", "fc_1", "get_weather", True)
    assert run(["generate", "--no-stream", "--session", str(session), "q2"]).exit_code == 0
    assert api.bodies()[2]["input"][-1] == USER2 and api.bodies()[2]["input"][:4] == [USER1, THOUGHT, CALL, result]


def test_requires_action_turn_with_text_is_resent_with_its_call_answered(api, tmp_path):
    session = tmp_path / "s.json"
    output = {"type": "model_output", "content": [{"type": "text", "text": "Let me check."}]}
    api.json({"id": "v1_one", "status": "requires_action", "steps": [THOUGHT, output, CALL]})
    api.json(interaction("fine", interaction_id="v1_two"))
    api.json(interaction("ok", interaction_id="v1_three"))
    assert run(["generate", "--no-store", "--no-stream", "--session", str(session), "q1"]).exit_code == 14
    assert run(["generate", "--no-stream", "--session", str(session), "q2"]).exit_code == 0
    assert api.bodies()[1]["input"][:4] == [USER1, THOUGHT, output, CALL]
    saved = json.loads(session.read_text())
    assert saved["turns"][0]["steps"] == [THOUGHT, output, CALL]  # the file keeps what arrived
