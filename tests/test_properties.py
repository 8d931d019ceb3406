"""Property-based tests (hypothesis): the SSE decoder and the conversation loader.

(a) The SSE decoding (httpx-sse, behind our UTF-8, BOM and size checks) against an
    independent model of the WHATWG event-stream rules: any split of the bytes into chunks,
    any mix of CRLF/CR/LF, comments, multi-line data. Compared as (data, id, event type) of
    the events with data: httpx-sse also dispatches data-less events, which we skip.
(b) The conversation loader given arbitrary bytes: a Conversation or a UsageError,
    never anything else, and the file is never written (bytes and mtime unchanged).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run
from gemini_cli.state import store
from gemini_cli.api.sse import iter_events, iter_frames
from gemini_cli.request.inputs import user_input_step
from gemini_cli.state.conversation import Conversation
from gemini_cli.errors import UsageError

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- (a) the SSE decoder ---------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12)
LINE = st.one_of(
    st.tuples(st.just("data"), TEXT),
    st.tuples(st.just("data-bare"), st.just("")),  # "data" with no colon: an empty data line
    st.tuples(st.just("event"), TEXT),
    st.tuples(st.just("id"), st.one_of(TEXT, TEXT.map(lambda t: t + "\0"))),
    st.tuples(st.just("comment"), TEXT),
    st.tuples(st.just("retry"), st.integers(0, 10_000).map(str)),
    st.tuples(st.just("other"), TEXT),
    st.tuples(st.just("blank"), st.just("")),
)
STREAM = st.lists(LINE, max_size=30)
ENDING = st.sampled_from(["\n", "\r\n", "\r"])


def line_text(kind: str, value: str, space: bool) -> str:
    sep = " " if space else ""
    return {
        "data": f"data:{sep}{value}", "data-bare": "data", "event": f"event:{sep}{value}",
        "id": f"id:{sep}{value}", "comment": f":{value}", "retry": f"retry:{sep}{value}",
        "other": f"x-field:{sep}{value}", "blank": "",
    }[kind]


def serialise(lines: list[tuple[str, str]], endings: list[str], spaces: list[bool]) -> str:
    out: list[str] = []
    previous = ""
    for n, (kind, value) in enumerate(lines):
        text = line_text(kind, value, spaces[n % len(spaces)])
        ending = endings[n % len(endings)]
        if not text and previous == "\r" and ending.startswith("\n"):
            ending = "\r"  # CR then LF would be one CRLF line ending, not two lines
        out.append(text + ending)
        previous = ending
    return "".join(out)


Frame = tuple[str, str, str]  # (data, last event id, event type)


def decode(chunks) -> list[Frame]:
    """The events with data that iter_frames dispatches, the body arriving in these chunks."""
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=iter(list(chunks)))
    return [(frame.data, frame.id, frame.event) for frame in iter_frames(response) if frame.data]


def model(lines: list[tuple[str, str]], spaces: list[bool]) -> list[Frame]:
    """What the event-stream rules dispatch, computed from the lines themselves."""
    frames, data, event, last_id = [], [], "", ""
    for n, (kind, value) in enumerate(lines):
        text = line_text(kind, value, spaces[n % len(spaces)])
        after = text.partition(":")[2]
        after = after[1:] if after.startswith(" ") else after
        if kind == "blank":
            if data and "\n".join(data):
                frames.append(("\n".join(data), last_id, event or "message"))
            data, event = [], ""
        elif kind in ("data", "data-bare"):
            data.append(after if kind == "data" else "")
        elif kind == "event":
            event = after
        elif kind == "id" and "\0" not in after:
            last_id = after
    return frames


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[a:b] for a, b in zip([0] + points, points + [len(data)])]


@FAST
@given(STREAM, st.lists(ENDING, min_size=1, max_size=5), st.lists(st.booleans(), min_size=1, max_size=3),
       st.lists(st.integers(0, 10_000), max_size=20), st.booleans())
def test_decoder_matches_the_model_for_any_split(lines, endings, spaces, cuts, bom):
    body = ("\ufeff" if bom else "") + serialise(lines, endings, spaces)
    data = body.encode("utf-8")
    expected = model(lines, spaces)
    assert list(decode([data])) == expected
    assert list(decode(split(data, cuts))) == expected
    assert list(decode(data[i:i + 1] for i in range(len(data)))) == expected


@FAST
@given(STREAM, st.lists(st.booleans(), min_size=1, max_size=3))
def test_line_endings_are_equivalent(lines, spaces):
    results = [list(decode([serialise(lines, [ending], spaces).encode()])) for ending in ("\n", "\r\n", "\r")]
    assert results[0] == results[1] == results[2] == model(lines, spaces)


PIECES = st.sampled_from([b"\r", b"\n", b"\r\n", b"data:", b"data: ", b"id: 1", b"event: x", b":", b" ", b"x",
                          b"{}", b"\xff", b"\xe2\x82", b"\xac", b"\xef\xbb\xbf", b"\0", "é✓".encode()])
NOISE = st.one_of(st.binary(max_size=200), st.lists(PIECES, max_size=60).map(b"".join))


@FAST
@given(NOISE, st.lists(st.integers(0, 10_000), max_size=20))
def test_any_bytes_decode_the_same_however_split(data, cuts):
    whole = list(decode([data]))
    assert list(decode(split(data, cuts))) == whole
    assert all(isinstance(data, str) and isinstance(id, str) for data, id, _ in whole)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)


@settings(FAST, max_examples=100)
@given(st.lists(st.dictionaries(TEXT, JSON, max_size=4), max_size=8), st.lists(st.integers(0, 10_000), max_size=20),
       ENDING)
def test_iter_events_any_split_gives_the_same_events(events, cuts, ending):
    body = "".join(f"event: x{ending}data: {json.dumps(e, ensure_ascii=False)}{ending}{ending}" for e in events)
    data = body.encode()

    def events_of(chunks):
        response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=iter(chunks))
        return [event for _, event in iter_events(response)]

    assert events_of([data]) == events_of(split(data, cuts)) == events


# -- (b) the conversation loader -------------------------------------------------------------


def valid_file() -> dict:
    conv = Conversation.new("gemini-3-flash-preview", True, "be brief", {"temperature": 0.5})
    turn = conv.add_turn([user_input_step("hello")], status="completed", interaction_id="v1_x",
                         steps=[{"type": "model_output", "content": [{"type": "text", "text": "hi"}]}])
    turn.usage = {"total_tokens": 3}
    return json.loads(store.dumps(conv))


VALID = valid_file()


def mutate(d: dict, path: list, value) -> dict:
    """Replace (or delete, for value ...) the item that the indexes in `path` lead to."""
    d = json.loads(json.dumps(d))
    target, key = None, None
    node = d
    for index in path:
        if isinstance(node, dict) and node:
            key = sorted(node)[index % len(node)]
        elif isinstance(node, list) and node:
            key = index % len(node)
        else:
            break
        target, node = node, node[key]
    if target is None:
        return d
    if value is ... and isinstance(target, dict):
        del target[key]
    else:
        target[key] = None if value is ... else value
    return d


VALID_BYTES = json.dumps(VALID).encode()
CONTENTS = st.one_of(
    st.binary(max_size=300),
    JSON.map(lambda v: json.dumps(v).encode()),
    st.builds(mutate, st.just(VALID), st.lists(st.integers(0, 50), min_size=1, max_size=5),
              st.one_of(st.just(...), JSON)).map(lambda d: json.dumps(d, ensure_ascii=False).encode()),
    st.integers(0, len(VALID_BYTES)).map(lambda n: VALID_BYTES[:n]),
    st.tuples(st.integers(0, len(VALID_BYTES) - 1), st.integers(0, 255)).map(
        lambda p: VALID_BYTES[:p[0]] + bytes([p[1]]) + VALID_BYTES[p[0] + 1:]),
    st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n),
)
OLD = 1_000_000_000_000_000_000  # a fixed mtime (ns): any write would change it


def write_old(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.utime(path, ns=(OLD, OLD))


def unchanged(path: Path, data: bytes) -> bool:
    return path.read_bytes() == data and path.stat().st_mtime_ns == OLD


def test_the_valid_file_loads():
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.json"
        write_old(path, VALID_BYTES)
        assert store.load(path).turns[0].interaction_id == "v1_x"
        assert unchanged(path, VALID_BYTES)


@FAST
@given(CONTENTS)
def test_loader_never_crashes_and_never_writes(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.json"
        write_old(path, data)
        try:
            conv = store.load(path)
        except UsageError as exc:
            assert str(path) in exc.message
        else:
            assert isinstance(conv, Conversation)
            store.dumps(conv)  # what was loaded can be written back later
        assert unchanged(path, data)
        assert os.listdir(folder) == ["c.json"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(CONTENTS)
def test_a_session_file_is_never_crashed_on_nor_written(home, data):
    path = home / "session.json"
    write_old(path, data)
    result = run(["generate", "--dry-run", "--session", str(path), "hi"])
    assert result.exit_code in (0, 2), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if result.exit_code == 2:
        assert str(path) in result.stderr
    assert unchanged(path, data)
