"""Server-sent events -> (raw JSON, event) pairs: framing (httpx-sse), [DONE], malformed
events, the event-size limit, and the before_read hook."""

from __future__ import annotations

import json

import httpx
import pytest

from conftest import sse, text_events
from gemini_cli.api.sse import EventTooLarge, is_event_stream, iter_events, iter_frames
from gemini_cli.errors import ExitCode


def response(*chunks: bytes, content_type: str = "text/event-stream") -> httpx.Response:
    """A streamed response whose body arrives in exactly these chunks."""
    return httpx.Response(200, headers={"content-type": content_type}, content=iter(chunks))


def decode(*chunks: bytes) -> tuple[list[dict], list[str]]:
    malformed: list[str] = []
    events = [event for _, event in iter_events(response(*chunks), malformed.append)]
    return events, malformed


def test_the_api_framing():
    events = text_events("Hello", " world")
    decoded, malformed = decode(sse(events).encode())
    assert (decoded, malformed) == (events, [])


def test_raw_text_is_the_data_exactly():
    data = '{"event_type": "step.delta",   "index": 1, "delta": {"type": "text", "text": "caf\\u00e9"}}'
    pairs = list(iter_events(response(f"data: {data}\n\n".encode())))
    assert pairs == [(data, json.loads(data))]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline):
    body = f"event: step.delta{newline}data: {{\"n\": 1}}{newline}{newline}data: {{\"n\": 2}}{newline}{newline}"
    assert decode(body.encode()) == ([{"n": 1}, {"n": 2}], [])


def test_mixed_line_endings():
    body = b'data: {"n": 1}\r\n\r\ndata: {"n": 2}\n\ndata: {"n": 3}\r\rdata: {"n": 4}\n\r\n'
    assert decode(body)[0] == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]


def test_comments_and_keepalives_are_ignored():
    body = b': keep-alive\n\ndata: {"n": 1}\n: a comment inside an event\n\n:\n\ndata: {"n": 2}\n\n'
    assert decode(body) == ([{"n": 1}, {"n": 2}], [])


def test_multi_line_data_is_joined_with_newlines():
    body = b'event: step.delta\ndata: {"a":\ndata:  1,\ndata: "b": "x"}\n\n'
    pairs = list(iter_events(response(body)))
    assert pairs == [('{"a":\n 1,\n"b": "x"}', {"a": 1, "b": "x"})]


def test_data_without_a_space_after_the_colon():
    assert decode(b'data:{"n": 1}\n\n')[0] == [{"n": 1}]


def test_id_and_retry_fields_do_not_disturb_the_data():
    assert decode(b'id: 42\nretry: 1000\nevent: x\ndata: {"n": 1}\n\n')[0] == [{"n": 1}]


def test_event_without_data_is_skipped():
    body = b'event: ping\n\nid: 7\n\nevent: step.delta\ndata: {"n": 1}\n\n'
    assert decode(body) == ([{"n": 1}], [])


def test_empty_data_is_skipped():
    assert decode(b'data:\n\ndata: {"n": 1}\n\n') == ([{"n": 1}], [])


def test_malformed_json_is_reported_and_skipped():
    body = b'data: {"n": 1}\n\ndata: {not json\n\ndata: [1, 2]\n\ndata: "a string"\n\ndata: {"n": 2}\n\n'
    assert decode(body) == ([{"n": 1}, {"n": 2}], ["{not json", "[1, 2]", '"a string"'])


def test_malformed_without_a_callback_is_skipped_silently():
    assert [event for _, event in iter_events(response(b"data: nope\n\ndata: {\"n\": 1}\n\n"))] == [{"n": 1}]


def test_done_stops_reading():
    body = b'data: {"n": 1}\n\nevent: done\ndata: [DONE]\n\ndata: {"n": 2}\n\n'
    assert decode(body)[0] == [{"n": 1}]


def test_done_stops_before_the_rest_of_the_body_is_read():
    def chunks():
        yield b'data: {"n": 1}\n\ndata: [DONE]\n\n'
        raise AssertionError("read past [DONE]")

    assert [event for _, event in iter_events(httpx.Response(200, headers={"content-type": "text/event-stream"}, content=chunks()))] == [{"n": 1}]


def test_before_read_runs_once_every_event_of_a_chunk_was_handled():
    seen: list[str] = []
    chunks = (b'data: {"n": 1}\n\ndata: {"n": 2}\n\ndata: {"n"', b': 3}\n\n', b'data: [DONE]\n\n')
    for _, event in iter_events(response(*chunks), before_read=lambda: seen.append("read")):
        seen.append(str(event["n"]))
    # Events 1 and 2 came in the first chunk: handled before the next read. Event 3 was
    # completed by the second chunk; [DONE] in the third ends the loop before another read.
    assert seen == ["1", "2", "read", "3", "read"]


def test_split_across_chunks_anywhere():
    events = text_events("héllo ", "wörld ✓", thought="思考")
    body = sse(events).encode()
    # One byte at a time: splits inside field names, CRLF pairs and UTF-8 sequences.
    assert decode(*(body[i:i + 1] for i in range(len(body)))) == (events, [])
    for size in (2, 3, 7, 64):
        assert decode(*(body[i:i + size] for i in range(0, len(body), size)))[0] == events


def test_crlf_split_between_chunks():
    assert decode(b'data: {"n": 1}\r', b'\n\r', b'\ndata: {"n": 2}\r\n\r\n')[0] == [{"n": 1}, {"n": 2}]


def test_last_event_without_a_blank_line_is_not_dispatched():
    # As in the SSE spec: an event is dispatched by the blank line that ends it.
    assert decode(b'data: {"n": 1}\n\ndata: {"n": 2}\n')[0] == [{"n": 1}]


def test_unknown_event_types_are_yielded():
    body = b'event: brand.new\ndata: {"event_type": "brand.new", "x": 1}\n\n'
    assert decode(body)[0] == [{"event_type": "brand.new", "x": 1}]


def test_content_type_with_charset():
    resp = response(b'data: {"n": 1}\n\n', content_type="text/event-stream; charset=utf-8")
    assert is_event_stream(resp)
    assert [event for _, event in iter_events(resp)] == [{"n": 1}]


def test_is_event_stream():
    assert not is_event_stream(response(b"{}", content_type="application/json"))
    assert not is_event_stream(httpx.Response(200, content=b"{}"))


# -- the frames (httpx-sse) behind our checks -------------------------------------------------


def Frame(data: str, id: str = "", event: str = "message") -> tuple[str, str, str]:
    return (data, id, event)


def frames(*chunks: bytes) -> list[tuple[str, str, str]]:
    """(data, last event id, event type) of each event with data (iter_events skips the others)."""
    return [(f.data, f.id, f.event) for f in iter_frames(response(*chunks)) if f.data]


def test_frames_carry_data_id_and_event_type():
    body = b'event: step.delta\nid: 1\ndata: a\n\ndata: b\n\nid: 2\nevent: x\ndata: c\ndata: d\n\n'
    assert frames(body) == [Frame("a", "1", "step.delta"), Frame("b", "1", "message"), Frame("c\nd", "2", "x")]


def test_only_one_leading_space_is_removed_and_fields_without_colon():
    assert frames(b"data:  two\ndata\nid\nevent:\n\n") == [Frame(" two\n", "", "message")]


def test_an_id_with_nul_is_ignored_and_ids_persist():
    assert frames(b"id: 7\n\nid: a\0b\ndata: x\n\ndata: y\n\n") == [Frame("x", "7"), Frame("y", "7")]


def test_a_leading_bom_is_dropped_once():
    assert frames(b"\xef\xbb\xbf", b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == [Frame("a")]


def test_invalid_utf8_becomes_replacement_characters():
    assert frames(b"data: caf\xe9 \xff\n\n") == [Frame("caf\ufffd \ufffd")]


def test_a_multibyte_character_split_across_chunks():
    body = "data: ✓€😀\n\n".encode()
    assert frames(*(body[i:i + 1] for i in range(len(body)))) == [Frame("✓€😀")]


def test_empty_chunks_and_lone_carriage_returns():
    assert frames(b"", b"data: a\r", b"", b"\r", b"\n", b"data: b\r\r") == [Frame("a"), Frame("b")]


def test_a_huge_frame_in_many_chunks():
    body = b"data: " + b"x" * 5_000_000 + b"\n\n"
    assert frames(*(body[i:i + 65536] for i in range(0, len(body), 65536)))[0][0] == "x" * 5_000_000


def test_deeply_nested_json_is_malformed_not_a_crash():
    deep = "[" * 100_000 + "]" * 100_000
    body = f'data: {deep}\n\ndata: {{"n": 1}}\n\n'.encode()
    events, malformed = decode(body)
    assert events == [{"n": 1}] and len(malformed) == 1


def test_a_gzip_encoded_stream_is_decoded(api):
    """Without Content-Encoding the body is read straight from the transport; with one,
    through httpx's decoder: both must give the same answer."""
    import gzip

    from conftest import run_checked as run
    from werkzeug.wrappers import Response

    body = gzip.compress(sse(text_events("Hel", "lo")).encode())
    api.server.expect_ordered_request("/v1beta/interactions", method="POST").respond_with_response(
        Response(body, content_type="text/event-stream", headers={"Content-Encoding": "gzip"})
    )
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello\n", "")


# -- the event-size limit ----------------------------------------------------------------------


def test_an_endless_line_stops_at_the_limit_without_reading_on():
    read = []

    def chunks():
        yield b'data: {"n": 1}\n\n'
        while True:
            read.append(1)
            yield b"x" * 1000  # no end of line, ever

    events = []
    with pytest.raises(EventTooLarge) as caught:
        for _, event in iter_events(httpx.Response(200, headers={"content-type": "text/event-stream"},
                                                   content=chunks()), limit=10_000):
            events.append(event)
    assert events == [{"n": 1}]
    assert len(read) == 11  # 11,000 bytes: the first chunk past the limit
    assert caught.value.exit_code == ExitCode.SERVER
    assert caught.value.message == "the stream sent an event larger than 10000 bytes without ending it; stopped reading"


def test_many_lines_without_a_blank_line_count_as_one_event():
    body = b"data: x\n" * 2000  # 16,000 bytes, no blank line
    with pytest.raises(EventTooLarge):
        list(iter_events(response(body), limit=10_000))


@pytest.mark.parametrize("blank", [b"\n\n", b"\r\r", b"\r\n\r\n", b"\n\r\n"])
def test_events_under_the_limit_pass_whatever_the_line_endings_and_splits(blank):
    event = b'data: {"pad": "' + b"x" * 9000 + b'"}' + blank
    body = event * 5  # 45,000 bytes in all, each event under 10,000
    for size in (1, 7, 4096, len(body)):
        chunks = [body[i:i + size] for i in range(0, len(body), size)]
        assert len(list(iter_events(response(*chunks), limit=9100))) == 5


def test_a_blank_line_split_between_two_reads_ends_the_event():
    first = b'data: {"pad": "' + b"x" * 90 + b'"}\n'
    assert [len(e["pad"]) for _, e in iter_events(response(first, b"\n", first, b"\n"), limit=110)] == [90, 90]
