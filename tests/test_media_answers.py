"""Image and audio answers (--media-dir, --image, --audio, ...): files written, paths printed,
exact request bodies received by a loopback server."""

from __future__ import annotations

import base64
import json

import pytest

from conftest import INTERACTION_ID, USAGE, text_events
from conftest import run_checked as run

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
PCM = bytes(range(256)) * 4


def media_events(*blocks: dict, text: str = "Here it is.") -> list[dict]:
    """A streamed answer: a text delta, then one binary delta per block, in the model_output step."""
    events = text_events(text)
    stop = next(i for i, e in enumerate(events) if e["event_type"] == "step.stop" and e["index"] == 1)
    events[stop:stop] = [{"event_type": "step.delta", "index": 1, "delta": block} for block in blocks]
    return events


def image_block(data: bytes = PNG, mime: str = "image/png") -> dict:
    return {"type": "image", "data": base64.b64encode(data).decode(), "mime_type": mime}


def audio_block(data: bytes = PCM, mime: str = "audio/l16;rate=24000") -> dict:
    return {"type": "audio", "data": base64.b64encode(data).decode(), "mime_type": mime}


def whole(*blocks: dict, text: str = "Here it is.") -> dict:
    return {"id": INTERACTION_ID, "status": "completed", "usage": USAGE, "steps": [
        {"type": "thought", "signature": "c2ln"},
        {"type": "model_output", "content": [{"type": "text", "text": text}, *blocks]}]}


def test_streamed_image_and_audio_are_saved_and_their_paths_printed(api, tmp_path):
    api.stream(media_events(image_block(), audio_block()))
    result = run(["generate", "--media-dir", str(tmp_path), "--image", "--audio", "draw and say"])
    png, pcm = tmp_path / f"{INTERACTION_ID}-1-1.png", tmp_path / f"{INTERACTION_ID}-1-2.pcm"
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"Here it is.\n{png}\n{pcm}\n"
    assert png.read_bytes() == PNG and pcm.read_bytes() == PCM
    assert api.bodies()[0]["response_format"] == [{"type": "image"}, {"type": "audio"}]


def test_no_stream_alike_and_the_default_folder_is_the_current_one(api, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    api.json(whole(image_block(mime="image/jpeg")))
    result = run(["generate", "--no-stream", "draw"])
    assert (result.exit_code, result.stdout) == (0, f"Here it is.\n{INTERACTION_ID}-1-1.jpg\n")
    assert (tmp_path / f"{INTERACTION_ID}-1-1.jpg").read_bytes() == PNG


def test_an_existing_file_is_never_overwritten(api, tmp_path):
    taken = tmp_path / f"{INTERACTION_ID}-1-1.png"
    taken.write_bytes(b"mine")
    (tmp_path / f"{INTERACTION_ID}-1-1-1.png").write_bytes(b"mine too")
    api.json(whole(image_block()))
    result = run(["generate", "--no-stream", "--media-dir", str(tmp_path), "draw"])
    fresh = tmp_path / f"{INTERACTION_ID}-1-1-2.png"
    assert (result.exit_code, result.stdout) == (0, f"Here it is.\n{fresh}\n")
    assert taken.read_bytes() == b"mine" and fresh.read_bytes() == PNG


def test_a_symlink_in_the_way_is_not_followed(api, tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"keep")
    (tmp_path / f"{INTERACTION_ID}-1-1.png").symlink_to(target)
    api.json(whole(image_block()))
    result = run(["generate", "--no-stream", "--media-dir", str(tmp_path), "draw"])
    assert result.stdout == f"Here it is.\n{tmp_path / f'{INTERACTION_ID}-1-1-1.png'}\n"
    assert target.read_bytes() == b"keep"


def test_json_output_lists_the_paths_beside_the_blocks(api, tmp_path, home):
    api.stream(media_events(image_block(), {"type": "audio", "uri": "https://example.com/a.wav", "mime_type": "audio/wav"}))
    result = run(["generate", "-o", "json", "--media-dir", str(tmp_path / "new"), "draw"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["media"] == [
        {"step": 1, "block": 1, "type": "image", "mime_type": "image/png", "path": str(tmp_path / "new" / f"{INTERACTION_ID}-1-1.png")},
        {"step": 1, "block": 2, "type": "audio", "mime_type": "audio/wav", "uri": "https://example.com/a.wav"},
    ]
    assert (tmp_path / "new" / f"{INTERACTION_ID}-1-1.png").read_bytes() == PNG
    # The saved conversation keeps the steps as the API sent them, no paths on the blocks.
    saved = json.loads(next((home / "conversations").glob("c*.json")).read_text())
    assert [sorted(b) for b in saved["turns"][0]["steps"][1]["content"][1:]] == [["data", "mime_type", "type"], ["mime_type", "type", "uri"]]


def test_a_uri_block_prints_the_uri_and_downloads_nothing(api, tmp_path):
    api.json(whole({"type": "image", "uri": "https://example.com/cat.png", "mime_type": "image/png"}))
    media = tmp_path / "media"
    result = run(["generate", "--no-stream", "--media-dir", str(media), "draw"])
    assert (result.exit_code, result.stdout) == (0, "Here it is.\nhttps://example.com/cat.png\n")
    assert not media.exists()


def test_an_answer_with_only_an_image_prints_only_the_path(api, tmp_path):
    api.json({"id": "v1/odd id", "status": "completed", "steps": [{"type": "model_output", "content": [image_block()]}]})
    result = run(["generate", "--no-stream", "--media-dir", str(tmp_path), "draw"])
    assert (result.exit_code, result.stdout) == (0, f"{tmp_path / 'v1_odd_id-0-0.png'}\n")


def test_bad_base64_exits_2_and_the_turn_is_saved_completed(api, tmp_path, home):
    api.json(whole({"type": "image", "data": "not base64!", "mime_type": "image/png"}))
    result = run(["generate", "--no-stream", "--media-dir", str(tmp_path), "draw"])
    assert result.exit_code == 2
    assert result.stdout == "Here it is.\n"
    assert result.stderr == "gemini-cli: error: the image block 1.1 of the answer is not valid base64; nothing was written for it\n"
    saved = json.loads(next((home / "conversations").glob("c*.json")).read_text())
    assert saved["turns"][0]["status"] == "completed"


def test_jsonl_saves_the_files_and_notes_them_on_stderr(api, tmp_path):
    api.stream(media_events(image_block()))
    result = run(["generate", "-o", "jsonl", "--media-dir", str(tmp_path), "draw"])
    path = tmp_path / f"{INTERACTION_ID}-1-1.png"
    assert result.exit_code == 0 and path.read_bytes() == PNG
    assert result.stderr == f"gemini-cli: media: {path}\n"
    assert all(json.loads(line) for line in result.stdout.splitlines())


# -- asking for media answers ------------------------------------------------------------------


def body_for(api, args: list[str]) -> dict:
    api.stream(text_events("{}"))
    result = run(["generate", "--no-save", *args, "hi"])
    assert result.exit_code == 0, result.stderr
    return api.bodies()[-1]


@pytest.mark.parametrize("args, expected", [
    (["--image"], {"response_format": {"type": "image"}}),
    (["--aspect-ratio", "16:9", "--image-size", "2K"], {"response_format": {"type": "image", "aspect_ratio": "16:9", "image_size": "2K"}}),
    (["--audio", "--voice", "Kore"], {"generation_config": {"speech_config": [{"voice": "Kore"}]}, "response_format": {"type": "audio"}}),
    (["--json", "--image"], {"response_format": [{"type": "text", "mime_type": "application/json"}, {"type": "image"}]}),
    (["--schema", '{"type":"object"}', "--audio"],
     {"response_format": [{"type": "text", "mime_type": "application/json", "schema": {"type": "object"}}, {"type": "audio"}]}),
])
def test_media_flags_set_response_format(api, args, expected):
    assert body_for(api, args) == {"model": "gemini-3-flash-preview", "input": "hi", **expected, "stream": True}


def test_bad_aspect_ratio_exits_2(api):
    result = run(["generate", "--aspect-ratio", "7:5", "hi"])
    assert result.exit_code == 2 and "7:5" in result.stderr
    assert api.requests() == []


def test_a_resumed_conversation_asks_for_the_same_media(api, tmp_path):
    session = tmp_path / "s.json"
    api.stream(text_events("ok"))
    api.stream(text_events("ok", interaction_id="v1_two"))
    api.stream(text_events("{}", interaction_id="v1_three"))
    assert run(["generate", "--session", str(session), "--image", "--voice", "Puck", "one"]).exit_code == 0
    assert run(["generate", "--session", str(session), "two"]).exit_code == 0
    assert run(["generate", "--session", str(session), "--json", "three"]).exit_code == 0
    first, second, third = api.bodies()
    assert second["response_format"] == {"type": "image"} == first["response_format"]
    assert second["generation_config"] == {"speech_config": [{"voice": "Puck"}]}
    assert third["response_format"] == {"type": "text", "mime_type": "application/json"}  # a flag replaces it


def test_history_fetch_saves_media_too(api, tmp_path):
    api.json(whole(image_block()), path=f"/v1beta/interactions/{INTERACTION_ID}", method="GET")
    result = run(["history", "fetch", INTERACTION_ID, "--media-dir", str(tmp_path)])
    png = tmp_path / f"{INTERACTION_ID}-1-1.png"
    assert (result.exit_code, result.stdout) == (0, f"Here it is.\n{png}\n")
    assert png.read_bytes() == PNG


def test_chat_prints_each_answers_media(api, tmp_path):
    api.stream(media_events(image_block()))
    result = run(["chat", "--no-save", "--media-dir", str(tmp_path), "--image"], input="draw\n")
    assert (result.exit_code, result.stdout) == (0, f"Here it is.\n{tmp_path / f'{INTERACTION_ID}-1-1.png'}\n")


def test_extract_keeps_stdout_for_the_code_block(api, tmp_path):
    api.json(whole(image_block(), text="```\ncode\n```"))
    result = run(["generate", "--no-stream", "--extract", "--media-dir", str(tmp_path), "draw"])
    png = tmp_path / f"{INTERACTION_ID}-1-1.png"
    assert (result.exit_code, result.stdout, result.stderr) == (0, "code\n", f"gemini-cli: media: {png}\n")


def test_files_written_before_a_bad_block_are_still_listed(api, tmp_path):
    api.json(whole(image_block(), {"type": "image", "data": "@@", "mime_type": "image/png"}))
    result = run(["generate", "--no-stream", "--media-dir", str(tmp_path), "draw"])
    assert result.exit_code == 2
    assert result.stdout == f"Here it is.\n{tmp_path / f'{INTERACTION_ID}-1-1.png'}\n"
    assert "the image block 1.2 of the answer is not valid base64" in result.stderr


def test_a_media_dir_that_cannot_be_made_exits_2_after_saving_the_turn(api, tmp_path, home):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    api.json(whole(image_block()))
    result = run(["generate", "--no-stream", "--media-dir", str(blocker / "sub"), "draw"])
    assert (result.exit_code, result.stdout) == (2, "Here it is.\n")
    assert result.stderr == f"gemini-cli: error: cannot create --media-dir {blocker / 'sub'}: Not a directory\n"
    saved = json.loads(next((home / "conversations").glob("c*.json")).read_text())
    assert saved["turns"][0]["status"] == "completed"
