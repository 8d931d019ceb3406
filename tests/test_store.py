"""Conversation files: atomic writes, modes, corrupt files, the lock, list/find/search."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gemini_cli.state import store
from gemini_cli.state.conversation import Conversation
from gemini_cli.errors import ExitCode, UsageError
from gemini_cli.state.store import ConversationStore, LockTimeout

SIG = "CiQBjz1rX+t2WdV4/Hq0m9Yp7GL4+3YeO0Xw8dJp0b+7N6Q2sxo=" * 4


@pytest.fixture(autouse=True)
def cli_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("GEMINI_CLI_HOME", str(home))
    return home


@pytest.fixture
def tmp(tmp_path):
    """An empty folder of our own (tmp_path also holds the home folder)."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def user(text):
    return {"type": "user_input", "content": [{"type": "text", "text": text}]}


def make_conv(cid, updated, question="hello", reply="world", turns=1, store_mode=True):
    conv = Conversation.new("gemini-3-flash-preview", store_mode)
    conv.id, conv.updated = cid, updated
    for n in range(turns):
        turn = conv.add_turn([user(question if n == 0 else f"{question} {n}")])
        turn.record({"id": f"v1_{cid}_{n}", "status": "completed", "usage": {"total_tokens": 9},
                     "steps": [{"type": "thought", "signature": SIG},
                               {"type": "model_output", "content": [{"type": "text", "text": reply}]}]})
    return conv


def put(folder, conv, mtime=None):
    """Write a conversation without touching `updated`; optionally date the file."""
    path = Path(folder) / f"{conv.id}.json"
    store.write_atomic(path, store.dumps(conv))
    if mtime is not None:
        os.utime(path, ns=(mtime, mtime))
    return path


PAST = time.time_ns() - 3600 * 10**9


# -- write_atomic --------------------------------------------------------------------------


def test_write_atomic_creates_private_file_and_folders(tmp):
    path = tmp / "a" / "b" / "conv.json"
    store.write_atomic(path, "héllo")
    assert path.read_bytes() == "héllo".encode()
    assert mode(path) == 0o600
    assert mode(tmp / "a") == 0o700 and mode(tmp / "a" / "b") == 0o700
    assert sorted(os.listdir(path.parent)) == ["conv.json"]


def test_write_atomic_replaces_and_tightens_mode(tmp):
    path = tmp / "conv.json"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    os.chmod(tmp, 0o755)
    store.write_atomic(path, b"new")
    assert path.read_bytes() == b"new" and mode(path) == 0o600
    assert mode(tmp) == 0o755  # a folder that already existed (the user's) is not changed
    assert os.listdir(tmp) == ["conv.json"]


def test_write_atomic_follows_a_symlink(tmp):
    real = tmp / "real.json"
    real.write_bytes(b"old")
    link = tmp / "link.json"
    link.symlink_to(real)
    store.write_atomic(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"


@pytest.mark.parametrize("failing", ["fsync", "replace", "write"])
def test_failed_write_leaves_old_file_and_no_temp(tmp, monkeypatch, failing):
    path = tmp / "conv.json"
    path.write_bytes(b'{"old": true}')

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(UsageError) as info:
        store.write_atomic(path, b"x" * 100_000)
    monkeypatch.undo()
    assert info.value.message == f"cannot write {path}: No space left on device"
    assert path.read_bytes() == b'{"old": true}'
    assert os.listdir(tmp) == ["conv.json"]


def test_interrupt_during_write_removes_temp(tmp, monkeypatch):
    path = tmp / "conv.json"
    path.write_bytes(b"old")
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        store.write_atomic(path, b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp) == ["conv.json"]


# -- save / load ---------------------------------------------------------------------------


def test_save_then_load_is_byte_stable(tmp):
    conv = make_conv("cabc", "2000-01-01T00:00:00.000Z", question="Grüße 👋", turns=2)
    conv.extra["future"] = {"a": 1}
    conv.turns[0].steps[0]["unknown"] = [1, "two"]
    path = tmp / "conv.json"
    store.save(path, conv)
    assert conv.updated > "2000-01-01"
    raw = path.read_bytes()
    assert raw.startswith(b'{\n "format": "gemini-cli.conversation",\n "version": 1,\n "id": "cabc",')
    assert "Grüße 👋".encode() in raw  # ensure_ascii=False
    assert raw.count(SIG.encode()) == 2
    loaded = store.load(path)
    assert loaded == conv
    assert store.dumps(loaded) == raw
    assert mode(path) == 0o600


def test_lone_surrogate_is_escaped_not_fatal(tmp):
    conv = make_conv("cabc", "t", question="bad \udcff byte")
    path = tmp / "c.json"
    store.save(path, conv)
    assert b"\\udcff" in path.read_bytes()
    assert store.load(path).user_texts() == ["bad \udcff byte"]


def good_bytes():
    return store.dumps(make_conv("cabc", "2026-01-01T00:00:00.000Z"))


@pytest.mark.parametrize("content, problem", [
    (b"", "the file is empty"),
    (b"  \n", "the file is empty"),
    (b"{not json", "Expecting property name enclosed in double quotes: line 1 column 2"),
    (None, "Unterminated string starting at: line 4 column 8"),  # truncated mid-file
    (b"[1, 2]", "expected a JSON object at the top level, found a list"),
    (b'"text"', "expected a JSON object at the top level, found a string"),
    (b'{"format": "other", "version": 1}', "format is 'other', expected 'gemini-cli.conversation'"),
    (b'{"format": "gemini-cli.conversation", "version": 1, "id": "c", "model": "m", "store": true, "turns": 3}',
     "turns should be a list, not an integer"),
    (b'\xff\xfe{}', "not UTF-8 text (byte 0)"),
])
def test_corrupt_files_are_reported_and_left_alone(tmp, content, problem):
    path = tmp / "conv.json"
    if content is None:
        content = good_bytes()[:66]
    path.write_bytes(content)
    os.utime(path, ns=(PAST, PAST))
    with pytest.raises(UsageError) as info:
        store.load(path)
    assert info.value.message == f"conversation file {path} is corrupt: {problem}"
    assert info.value.exit_code == ExitCode.USAGE
    assert path.read_bytes() == content and os.stat(path).st_mtime_ns == PAST
    assert os.listdir(tmp) == ["conv.json"]


def test_missing_file(tmp):
    with pytest.raises(UsageError, match=r"conversation file .*nope\.json does not exist"):
        store.load(tmp / "nope.json")


def test_newer_file_is_refused_and_not_touched(tmp):
    path = tmp / "conv.json"
    raw = good_bytes().replace(b'"version": 1', b'"version": 7')
    path.write_bytes(raw)
    with pytest.raises(UsageError, match=r"written by a newer gemini-cli \(format version 7.*upgrade gemini-cli"):
        store.load(path)
    assert path.read_bytes() == raw


# -- lock ----------------------------------------------------------------------------------

WORKER = r"""
import sys
from gemini_cli.state import store
path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for n in range(count):
    with store.lock(path, timeout=30):
        conv = store.load(path)
        turn = conv.add_turn([{"type": "user_input", "content": [{"type": "text", "text": f"{name}-{n}"}]}])
        turn.record({"id": f"v1_{name}_{n}", "status": "completed", "steps": []})
        store.save(path, conv)
"""


def test_concurrent_writers_lose_nothing(tmp):
    path = tmp / "shared.json"
    store.save(path, Conversation.new("m", True))
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), f"w{i}", "15"]) for i in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    conv = store.load(path)
    got = sorted(t.interaction_id for t in conv.turns)
    assert got == sorted(f"v1_w{i}_{n}" for i in range(4) for n in range(15))
    for i in range(4):  # each writer's own turns stay in its order
        assert [t.interaction_id for t in conv.turns if t.interaction_id.startswith(f"v1_w{i}_")] == \
               [f"v1_w{i}_{n}" for n in range(15)]
    assert sorted(os.listdir(tmp)) == ["shared.json"]  # nothing beside the user's file
    locks = Path(os.environ["GEMINI_CLI_HOME"]) / "locks"
    assert sorted(name.rsplit(".", 1)[1] for name in os.listdir(locks)) == ["queue"]  # every ticket returned
    assert {mode(locks / name) for name in os.listdir(locks)} == {0o600} and mode(locks) == 0o700


def test_lock_timeout_calls_on_wait_once_then_raises(tmp):
    path = tmp / "c.json"
    waits = []
    with store.lock(path, timeout=1):
        start = time.monotonic()
        with pytest.raises(LockTimeout) as info:
            with store.lock(path, timeout=0.3, on_wait=lambda: waits.append(1)):
                pytest.fail("got a lock that is held")
        elapsed = time.monotonic() - start
    assert waits == [1]
    assert 0.3 <= elapsed < 2
    assert info.value.exit_code == ExitCode.USAGE
    assert info.value.message == (f"conversation {path} is in use by another gemini-cli process (waited 0.3s); "
                                  "retry when it has finished, or wait longer with --lock-timeout")
    with store.lock(path, timeout=0, on_wait=lambda: waits.append(2)):
        pass  # released: taken at once, no waiting note
    assert waits == [1]


def test_lock_waits_for_a_holder_that_finishes(tmp):
    path = tmp / "c.json"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys,time\nfrom gemini_cli.state import store\n"
                               "with store.lock(sys.argv[1], 5):\n print('held', flush=True); time.sleep(0.5)",
                               str(path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    waits = []
    start = time.monotonic()
    with store.lock(path, timeout=10, on_wait=lambda: waits.append(1)):
        waited = time.monotonic() - start
    assert waits == [1]
    assert 0.2 < waited < 5  # the holder slept 0.5 s with the lock
    assert holder.wait(timeout=10) == 0


# -- the store: list -------------------------------------------------------------------------


@pytest.fixture
def cs(cli_home):
    return ConversationStore()


def test_default_root_follows_gemini_cli_home(cs, cli_home):
    assert cs.root == cli_home / "conversations"
    conv = Conversation.new("m", True)
    assert cs.new_path(conv) == cli_home / "conversations" / f"{conv.id}.json"


def test_list_of_missing_folder_is_empty_and_creates_nothing(cs, cli_home):
    assert cs.list() == []
    assert not cs.root.exists()


def test_list_orders_newest_first_with_exact_summaries(cs):
    put(cs.root, make_conv("c1", "2026-01-01T00:00:00.000Z", question="first"), PAST)
    put(cs.root, make_conv("c3", "2026-03-01T00:00:00.000Z", question="third", turns=3, store_mode=False), PAST)
    put(cs.root, make_conv("c2", "2026-02-01T00:00:00.000Z", question="second"), PAST)
    listed = cs.list()
    assert [s["id"] for s in listed] == ["c3", "c2", "c1"]
    s = listed[0]
    assert s == {"id": "c3", "path": str(cs.root / "c3.json"), "title": "third", "created": s["created"],
                 "updated": "2026-03-01T00:00:00.000Z", "model": "gemini-3-flash-preview", "turns": 3,
                 "mode": "stateless", "error": None}
    assert listed[1]["mode"] == "server"
    assert [s["id"] for s in cs.list(limit=2)] == ["c3", "c2"]
    assert cs.list(limit=0) == []
    assert mode(cs.root / ".index.json") == 0o600
    assert mode(cs.root) == 0o700


def test_list_reuses_the_cache_and_notices_changes(cs, monkeypatch):
    for n in range(5):
        put(cs.root, make_conv(f"c{n}", f"2026-01-0{n + 1}T00:00:00.000Z"), PAST)
    parsed = []
    real = store._summary_of
    monkeypatch.setattr(store, "_summary_of", lambda p: (parsed.append(p.name), real(p))[1])
    assert len(cs.list()) == 5 and sorted(parsed) == [f"c{n}.json" for n in range(5)]
    index_before = (cs.root / ".index.json").read_bytes()
    index_mtime = os.stat(cs.root / ".index.json").st_mtime_ns

    parsed.clear()
    assert len(cs.list()) == 5 and parsed == []
    assert os.stat(cs.root / ".index.json").st_mtime_ns == index_mtime  # nothing changed: not rewritten

    put(cs.root, make_conv("c2", "2026-09-09T00:00:00.000Z", question="edited"), PAST + 10**9)
    (cs.root / "c4.json").unlink()
    listed = cs.list()
    assert parsed == ["c2.json"]
    assert [(s["id"], s["title"]) for s in listed] == [("c2", "edited"), ("c3", "hello"), ("c1", "hello"), ("c0", "hello")]
    index = json.loads((cs.root / ".index.json").read_bytes())
    assert sorted(index["entries"]) == ["c0.json", "c1.json", "c2.json", "c3.json"]
    assert index["entries"]["c2.json"][2]["title"] == "edited"
    assert (cs.root / ".index.json").read_bytes() != index_before


def test_a_file_as_new_as_the_index_is_reread(cs, monkeypatch):
    """Same size, same mtime, but written in the tick the cache was made: not trusted."""
    future = time.time_ns() + 60 * 10**9
    path = put(cs.root, make_conv("c1", "2026-01-01T00:00:00.000Z", question="aaaa"), future)
    assert cs.list()[0]["title"] == "aaaa"
    put(cs.root, make_conv("c1", "2026-01-01T00:00:00.000Z", question="bbbb"), future)
    assert cs.list()[0]["title"] == "bbbb"
    assert os.stat(path).st_mtime_ns == future


@pytest.mark.parametrize("garbage", [b"{", b"[]", b'{"format": "gemini-cli.index", "version": 1, "entries": {"c1.json": 5}}',
                                     b'{"format": "x", "version": 1, "entries": {}}'])
def test_corrupt_cache_is_rebuilt(cs, garbage):
    put(cs.root, make_conv("c1", "2026-01-01T00:00:00.000Z", question="real"), PAST)
    (cs.root / ".index.json").write_bytes(garbage)
    assert [s["title"] for s in cs.list()] == ["real"]
    index = json.loads((cs.root / ".index.json").read_bytes())
    assert index["format"] == "gemini-cli.index" and list(index["entries"]) == ["c1.json"]


def test_cache_entry_missing_summary_keys_is_reparsed(cs):
    path = put(cs.root, make_conv("c1", "2026-01-01T00:00:00.000Z", question="real"), PAST)
    st = os.stat(path)
    (cs.root / ".index.json").write_text(json.dumps({"format": "gemini-cli.index", "version": 1, "entries": {
        "c1.json": [st.st_mtime_ns, st.st_size, {"id": "c1", "title": "stale", "updated": "2026"}]}}))
    assert [(s["title"], s["error"]) for s in cs.list()] == [("real", None)]


def test_corrupt_and_newer_files_are_listed_with_a_marker_and_untouched(cs):
    put(cs.root, make_conv("c1", "2026-01-01T00:00:00.000Z"), PAST)
    bad = cs.root / "cbad.json"
    bad.write_bytes(b'{"format": "gemini-cli.conversation", "ver')
    newer = cs.root / "cnew.json"
    newer.write_bytes(good_bytes().replace(b'"version": 1', b'"version": 2'))
    (cs.root / "notes.txt").write_text("not a conversation")
    listed = {s["id"]: s for s in cs.list()}
    assert sorted(listed) == ["c1", "cbad", "cnew"]
    assert listed["cbad"]["title"] == "<corrupt: Unterminated string starting at: line 1 column 39>"
    assert listed["cbad"]["error"] == f"conversation file {bad} is corrupt: Unterminated string starting at: line 1 column 39"
    assert listed["cbad"]["turns"] == 0
    assert listed["cnew"]["title"] == "<written by newer gemini-cli: format version 2>"
    assert bad.read_bytes() == b'{"format": "gemini-cli.conversation", "ver'
    assert cs.last_used() == cs.root / "c1.json"  # markers are never "the last conversation"


# -- find / delete / search ------------------------------------------------------------------


def test_find_exact_prefix_ambiguous_and_none(cs):
    for cid in ("caaa1", "caaa2", "cb", "cbb"):
        put(cs.root, make_conv(cid, "2026-01-01T00:00:00.000Z", question=f"about {cid}"), PAST)
    assert cs.find("caaa1") == cs.root / "caaa1.json"
    assert cs.find("CAAA2") == cs.root / "caaa2.json"
    assert cs.find("cb") == cs.root / "cb.json"  # exact beats being a prefix of cbb
    assert cs.find("cbb") == cs.root / "cbb.json"
    with pytest.raises(UsageError) as info:
        cs.find("caa")
    assert info.value.message == (
        "'caa' matches 2 conversations; give more of the id:\n"
        f"  caaa1  about caaa1  ({cs.root / 'caaa1.json'})\n"
        f"  caaa2  about caaa2  ({cs.root / 'caaa2.json'})")
    with pytest.raises(UsageError, match=r"^no conversation matches 'zz' \(see `gemini-cli history list`\)$"):
        cs.find("zz")
    with pytest.raises(UsageError, match="no conversation id given"):
        cs.find(" ")


def test_delete_removes_file_and_lock(cs):
    path = put(cs.root, make_conv("c1", "2026-01-01T00:00:00.000Z"), PAST)
    put(cs.root, make_conv("c2", "2026-01-01T00:00:00.000Z"), PAST)
    with store.lock(path, 1):
        pass
    assert not (cs.root / "c1.json.lock").exists()  # locks live in the state folder
    assert cs.delete("c1") == path
    assert not path.exists()
    assert [s["id"] for s in cs.list()] == ["c2"]
    with pytest.raises(UsageError, match="no conversation matches 'c1'"):
        cs.delete("c1")


def test_search_user_and_model_text_any_case(cs, tmp):
    put(cs.root, make_conv("c1", "2026-01-01T00:00:00.000Z", question="How big is a Größe?", reply="plain"), PAST)
    put(cs.root, make_conv("c2", "2026-01-02T00:00:00.000Z", question="weather", reply='Say "QUOTED" Answer'), PAST)
    put(cs.root, make_conv("c3", "2026-01-03T00:00:00.000Z", question="nothing", reply="here"), PAST)
    (cs.root / "cbad.json").write_bytes(b"{")
    assert [s["id"] for s in cs.search("größe")] == ["c1"]
    assert [s["id"] for s in cs.search("GRÖSSE")] == ["c1"]  # casefold: ß matches ss
    assert [s["id"] for s in cs.search("answer")] == ["c2"]
    assert [s["id"] for s in cs.search('"quoted"')] == ["c2"]
    assert [s["id"] for s in cs.search("e")] == ["c3", "c2", "c1"]
    assert cs.search("model_output") == []  # JSON keys are not text
    assert cs.search("signature") == []


# -- external sessions and last used -------------------------------------------------------


def test_external_sessions_listed_until_gone(cs, tmp):
    put(cs.root, make_conv("c1", "2026-01-01T00:00:00.000Z"), PAST)
    outside = tmp / "mine" / "talk.json"
    store.save(outside, make_conv("cext", "x", question="outside"))
    cs.remember(outside)
    registry = json.loads((cs.root / ".sessions.json").read_bytes())
    assert registry == {"format": "gemini-cli.sessions", "version": 1, "external": [str(outside)],
                        "last_used": str(outside)}
    assert mode(cs.root / ".sessions.json") == 0o600
    listed = cs.list()
    assert [(s["id"], s["path"]) for s in listed] == [("cext", str(outside)), ("c1", str(cs.root / "c1.json"))]
    assert cs.find("cex") == outside
    assert cs.last_used() == outside
    assert [s["id"] for s in cs.search("outside")] == ["cext"]

    cs.remember(cs.root / "c1.json")
    assert cs.last_used() == cs.root / "c1.json"
    registry = json.loads((cs.root / ".sessions.json").read_bytes())
    assert registry["external"] == [str(outside)] and registry["last_used"] == str(cs.root / "c1.json")

    outside.unlink()
    assert [s["id"] for s in cs.list()] == ["c1"]
    index = json.loads((cs.root / ".index.json").read_bytes())
    assert list(index["entries"]) == ["c1.json"]
    cs.remember(cs.root / "c1.json")  # a later write prunes the missing file
    assert json.loads((cs.root / ".sessions.json").read_bytes())["external"] == []


def test_deleting_an_external_session(cs, tmp):
    outside = tmp / "talk.json"
    store.save(outside, make_conv("cext", "x"))
    cs.remember(outside)
    assert cs.delete("cext") == outside
    assert not outside.exists() and cs.list() == []
    assert cs.last_used() is None


def test_last_used_falls_back_to_newest_then_none(cs):
    assert cs.last_used() is None
    put(cs.root, make_conv("c1", "2026-01-01T00:00:00.000Z"), PAST)
    put(cs.root, make_conv("c2", "2026-05-01T00:00:00.000Z"), PAST)
    assert cs.last_used() == cs.root / "c2.json"
    cs.remember(cs.root / "c1.json")
    assert cs.last_used() == cs.root / "c1.json"
    (cs.root / "c1.json").unlink()
    assert cs.last_used() == cs.root / "c2.json"


def test_corrupt_registry_is_ignored(cs, tmp):
    put(cs.root, make_conv("c1", "2026-01-01T00:00:00.000Z"), PAST)
    (cs.root / ".sessions.json").write_bytes(b"\x00garbage")
    assert [s["id"] for s in cs.list()] == ["c1"]
    assert cs.last_used() == cs.root / "c1.json"
    cs.remember(tmp / "x.json")
    assert json.loads((cs.root / ".sessions.json").read_bytes())["last_used"] == str(tmp / "x.json")
