"""`gemini-cli history ...`: every subcommand's output, exit codes, and the requests it sends."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import USAGE, interaction, sse, text_events
from conftest import run_checked as run
from gemini_cli.state import store
from gemini_cli.request.inputs import user_input_step
from gemini_cli.state.conversation import Conversation

MODEL = "gemini-3-flash-preview"
SIG = "CiQBjz1rX+t2WdV4/Hq0m9Yp7GL4+3YeO0Xw8dJp0b+7N6Q2sxo="


def folder(home: Path) -> Path:
    return home / "conversations"


def saved(home: Path, cid: str, title: str, updated: str, *, qa=(("Hello", "Hi there"),), store_mode=True,
          model=MODEL, system=None, thought=None, status="completed", where: Path | None = None) -> Path:
    """Write a conversation with fixed ids and times (so listings are exact)."""
    conv = Conversation(id=cid, model=model, store=store_mode, title=title, created="2026-05-01T09:00:00.000Z",
                        updated=updated, system_instruction=system, generation_config={"temperature": 0.5})
    for n, (question, answer) in enumerate(qa):
        turn = conv.add_turn([user_input_step(question)])
        turn.created = f"2026-05-01T09:0{n}:30.000Z"
        thought_step = {"type": "thought", "signature": SIG}
        if thought:
            thought_step["summary"] = [{"type": "text", "text": thought}]
        turn.record({"id": f"v1_{cid}_{n}", "status": status, "usage": USAGE,
                     "steps": [thought_step, {"type": "model_output", "content": [{"type": "text", "text": answer}]}]})
    path = where or folder(home) / f"{cid}.json"
    store.write_atomic(path, store.dumps(conv))
    return path


def three(home):
    a = saved(home, "c1111aaaa0001", "Capital of France?", "2026-05-02T10:00:00.000Z",
              qa=(("Capital of France?", "Paris."), ("And Germany?", "Berlin.")))
    b = saved(home, "c2222bbbb0002", "Write a haiku", "2026-05-03T11:30:59.000Z", store_mode=False,
              model="gemini-2.5-pro", qa=(("Write a haiku", "Autumn moonlight"),))
    c = saved(home, "c1111cccc0003", "Old chat", "2026-04-30T08:05:00.000Z")
    return a, b, c


# -- list ---------------------------------------------------------------------------------------


def test_list_table_newest_first(home):
    three(home)
    result = run(["history", "list"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "ID             UPDATED               MODEL                   TURNS  MODE       TITLE\n"
        "c2222bbbb0002  2026-05-03 11:30 UTC  gemini-2.5-pro          1      stateless  Write a haiku\n"
        "c1111aaaa0001  2026-05-02 10:00 UTC  gemini-3-flash-preview  2      server     Capital of France?\n"
        "c1111cccc0003  2026-04-30 08:05 UTC  gemini-3-flash-preview  1      server     Old chat\n"
    )


def test_list_limit(home):
    three(home)
    result = run(["history", "list", "-n", "1"])
    assert result.stdout.splitlines()[1:] == [
        "c2222bbbb0002  2026-05-03 11:30 UTC  gemini-2.5-pro  1      stateless  Write a haiku"]
    assert run(["history", "list", "--limit", "0"]).exit_code == 2


def test_list_json(home):
    a, b, c = three(home)
    result = run(["history", "list", "--json", "-n", "2"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {"id": "c2222bbbb0002", "title": "Write a haiku", "created": "2026-05-01T09:00:00.000Z",
         "updated": "2026-05-03T11:30:59.000Z", "model": "gemini-2.5-pro", "turns": 1, "mode": "stateless",
         "error": None, "path": str(b)},
        {"id": "c1111aaaa0001", "title": "Capital of France?", "created": "2026-05-01T09:00:00.000Z",
         "updated": "2026-05-02T10:00:00.000Z", "model": MODEL, "turns": 2, "mode": "server",
         "error": None, "path": str(a)},
    ]


def test_list_empty(home):
    result = run(["history", "list"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "gemini-cli: no saved conversations\n")
    assert run(["history", "list", "-q"]).stderr == ""
    assert run(["history", "list", "--json"]).stdout == "[]\n"
    assert not folder(home).exists()  # listing creates nothing


def test_list_marks_a_corrupt_file_and_leaves_it(home):
    three(home)
    bad = folder(home) / "cbad.json"
    bad.write_bytes(b'{"format": "gemini-cli.conversation", "vers')
    os.utime(bad, ns=(1_893_456_000 * 10**9, 1_893_456_000 * 10**9))  # 2030-01-01
    result = run(["history", "list", "-n", "1"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == (
        "cbad  2030-01-01 00:00 UTC  -      0      -     <corrupt: Unterminated string starting at: line 1 column 39>")
    assert bad.read_bytes() == b'{"format": "gemini-cli.conversation", "vers'


def test_list_includes_session_files_elsewhere(home, tmp_path):
    outside = saved(home, "c3333dddd0004", "Elsewhere", "2026-05-04T00:00:00.000Z", where=tmp_path / "mine.json")
    store.ConversationStore().remember(outside)
    result = run(["history", "list", "--json"])
    assert [(s["id"], s["path"]) for s in json.loads(result.stdout)] == [("c3333dddd0004", str(outside))]


# -- show ------------------------------------------------------------------------------------


def test_show_transcript(home):
    path = saved(home, "c4444eeee0005", "Capital of France?", "2026-05-02T10:00:00.000Z", system="Be brief.\nVery.",
                 thought="Thinking about capitals", qa=(("Capital of France?", "Paris."), ("And\nGermany?", "Berlin.")))
    expected = (
        "conversation c4444eeee0005: Capital of France?\n"
        f"file: {path}\n"
        "model: gemini-3-flash-preview · server-side · 2 turns\n"
        "created 2026-05-01 09:00 UTC · updated 2026-05-02 10:00 UTC\n"
        "system: Be brief.\n"
        "        Very.\n"
        "\n"
        "── turn 1 · 2026-05-01 09:00 UTC · v1_c4444eeee0005_0 · completed\n"
        "> Capital of France?\n"
        "\n"
        "Paris.\n"
        "\n"
        "usage: 5 input, 7 output, 3 thought, 15 total tokens\n"
        "\n"
        "── turn 2 · 2026-05-01 09:01 UTC · v1_c4444eeee0005_1 · completed\n"
        "> And\n"
        "> Germany?\n"
        "\n"
        "Berlin.\n"
        "\n"
        "usage: 5 input, 7 output, 3 thought, 15 total tokens\n"
    )
    result = run(["history", "show", "c4444"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, expected, "")
    with_thoughts = run(["history", "show", "c4444eeee0005", "--thoughts"]).stdout
    assert with_thoughts == expected.replace("> Capital of France?\n\n", "> Capital of France?\n\nthinking: Thinking about capitals\n\n") \
        .replace("> Germany?\n\n", "> Germany?\n\nthinking: Thinking about capitals\n\n")


def test_show_by_file_pending_and_failed_turns(home, tmp_path):
    path = saved(home, "c5555ffff0006", "Q", "2026-05-02T10:00:00.000Z", store_mode=False, where=tmp_path / "s.json",
                 qa=(("Q", "A"),), status="failed")
    conv = store.load(path)
    conv.add_turn([user_input_step("later")], interaction_id="v1_bg").created = "2026-05-01T09:05:00.000Z"
    store.write_atomic(path, store.dumps(conv))
    result = run(["history", "show", str(path)])
    assert result.exit_code == 0
    assert result.stdout.split("\n", 4)[2] == "model: gemini-3-flash-preview · stateless (store: false) · 2 turns"
    assert result.stdout.endswith(
        "── turn 1 · 2026-05-01 09:00 UTC · v1_c5555ffff0006_0 · failed\n> Q\n\nA\n\n"
        "usage: 5 input, 7 output, 3 thought, 15 total tokens\n\n"
        "── turn 2 · 2026-05-01 09:05 UTC · v1_bg · pending: no answer yet (gemini-cli history fetch v1_bg --wait)\n"
        "> later\n")


def test_show_json_is_the_raw_file(home):
    path = saved(home, "c6666aaaa0007", "Hi", "2026-05-02T10:00:00.000Z")
    raw = path.read_bytes()
    result = run(["history", "show", "c6666", "--json"])
    assert (result.exit_code, result.stdout.encode(), result.stderr) == (0, raw, "")
    assert json.loads(result.stdout)["turns"][0]["steps"][0]["signature"] == SIG


def test_show_unknown_and_ambiguous_ids(home):
    three(home)
    missing = run(["history", "show", "c9"])
    assert (missing.exit_code, missing.stdout) == (2, "")
    assert missing.stderr == "gemini-cli: error: no conversation matches 'c9' (see `gemini-cli history list`)\n"
    ambiguous = run(["history", "show", "c1111"])
    assert (ambiguous.exit_code, ambiguous.stdout) == (2, "")
    assert ambiguous.stderr == (
        "gemini-cli: error: 'c1111' matches 2 conversations; give more of the id:\n"
        f"  c1111aaaa0001  Capital of France?  ({folder(home) / 'c1111aaaa0001.json'})\n"
        f"  c1111cccc0003  Old chat  ({folder(home) / 'c1111cccc0003.json'})\n")
    assert run(["history", "show", "/nonexistent/x.json"]).stderr == \
        "gemini-cli: error: no conversation matches '/nonexistent/x.json' (see `gemini-cli history list`)\n"


def test_show_corrupt_and_newer_files_exit_2_untouched(home, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"format": "gemini-cli.conversation", "version": 1, "id": "x", "turns": [')
    result = run(["history", "show", str(bad)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gemini-cli: error: conversation file {bad} is corrupt: "
                             "Expecting value: line 1 column 74\n")
    newer = tmp_path / "newer.json"
    newer.write_text('{"format": "gemini-cli.conversation", "version": 99, "id": "x"}')
    result = run(["history", "show", "--json", str(newer)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert "was written by a newer gemini-cli (format version 99" in result.stderr
    assert bad.read_bytes().endswith(b'"turns": [') and "99" in newer.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "home", "newer.json"]


# -- export -------------------------------------------------------------------------------------


def test_export_markdown(home):
    saved(home, "c7777aaaa0008", "Capital of France?", "2026-05-02T10:00:00.000Z", system="Be brief.",
          thought="Hmm", qa=(("Capital of France?", "Paris."),))
    expected = (
        "# Capital of France?\n\n"
        "- Conversation: `c7777aaaa0008`\n- Model: `gemini-3-flash-preview`\n- Mode: server-side\n"
        "- Created: 2026-05-01 09:00 UTC\n- Updated: 2026-05-02 10:00 UTC\n\n"
        "**System instruction:**\n\n> Be brief.\n\n"
        "## Turn 1\n\n**User:**\n\nCapital of France?\n\n**Model:**\n\nParis.\n\n"
        "*Usage: 5 input, 7 output, 3 thought, 15 total tokens*\n"
    )
    result = run(["history", "export", "c7777", "--format", "markdown"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, expected, "")
    assert run(["history", "export", "c7777"]).stdout == expected  # markdown is the default
    thoughts = run(["history", "export", "c7777", "--thoughts"]).stdout
    assert "**Model:**\n\n<details><summary>Thoughts</summary>\n\nHmm\n\n</details>\n\nParis.\n" in thoughts


def test_export_json_is_the_current_format(home):
    path = saved(home, "c8888aaaa0009", "Hi", "2026-05-02T10:00:00.000Z")
    result = run(["history", "export", "c8888", "--format", "json"])
    assert (result.exit_code, result.stdout.encode()) == (0, path.read_bytes())
    # An old (version 0) file comes out upgraded.
    old = {"format": "gemini-cli.conversation", "version": 0, "id": "c0old", "title": "t", "model": "m",
           "messages": [{"interaction_id": "v1_o", "status": "completed", "input": [], "output": [{"type": "thought", "signature": SIG}]}]}
    (folder(home) / "c0old.json").write_text(json.dumps(old))
    exported = json.loads(run(["history", "export", "c0old", "-f", "json"]).stdout)
    assert (exported["version"], exported["store"], exported["turns"][0]["steps"]) == (1, True, [{"type": "thought", "signature": SIG}])
    assert json.loads((folder(home) / "c0old.json").read_text()) == old  # reading never rewrites


def test_export_bad_format_exit_2(home):
    saved(home, "c8888aaaa0009", "Hi", "2026-05-02T10:00:00.000Z")
    result = run(["history", "export", "c8888", "--format", "html"])
    assert result.exit_code == 2 and "html" in result.stderr


# -- path, search -------------------------------------------------------------------------------


def test_path(home):
    three(home)
    assert run(["history", "path"]).stdout == f"{folder(home)}\n"
    assert run(["history", "path", "c2222"]).stdout == f"{folder(home) / 'c2222bbbb0002.json'}\n"
    assert run(["history", "path", "zz"]).exit_code == 2


def test_search(home):
    three(home)
    result = run(["history", "search", "BERLIN"])  # in an answer, other case
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "ID             UPDATED               MODEL                   TURNS  MODE    TITLE\n"
        "c1111aaaa0001  2026-05-02 10:00 UTC  gemini-3-flash-preview  2      server  Capital of France?\n")
    both = run(["history", "search", "h", "--json"])  # "haiku", "Hello"/"Hi there", ...
    assert [s["id"] for s in json.loads(both.stdout)] == ["c2222bbbb0002", "c1111cccc0003"]
    assert [s["id"] for s in json.loads(run(["history", "search", "h", "--json", "-n", "1"]).stdout)] == ["c2222bbbb0002"]
    none = run(["history", "search", "zebra"])
    assert (none.exit_code, none.stdout, none.stderr) == (0, "", "gemini-cli: no conversation contains 'zebra'\n")
    assert run(["history", "search", "zebra", "--json"]).stdout == "[]\n"


# -- delete -------------------------------------------------------------------------------------


def test_delete_several(home):
    a, b, c = three(home)
    with store.lock(a, 1):
        pass
    result = run(["history", "delete", "c1111a", "c2222bbbb0002"])
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"gemini-cli: deleted {a}\ngemini-cli: deleted {b}\n"
    assert sorted(p.name for p in folder(home).iterdir() if not p.name.startswith(".")) == ["c1111cccc0003.json"]
    assert json.loads(run(["history", "list", "--json"]).stdout)[0]["id"] == "c1111cccc0003"


def test_delete_checks_every_id_first(home, api):
    a, b, c = three(home)
    result = run(["history", "delete", "c2222", "nope", "--remote"])
    assert (result.exit_code, result.stderr) == (2, "gemini-cli: error: no conversation matches 'nope' (see `gemini-cli history list`)\n")
    assert a.exists() and b.exists() and c.exists()
    assert run(["history", "delete", "c1111"]).exit_code == 2  # ambiguous: nothing deleted
    assert a.exists() and c.exists() and api.requests() == []


def test_delete_remote_deletes_each_interaction(home, api):
    a, b, c = three(home)
    api.json({}, method="DELETE", path="/v1beta/interactions/v1_c1111aaaa0001_0")
    api.error(404, "not found", "NOT_FOUND", method="DELETE", path="/v1beta/interactions/v1_c1111aaaa0001_1")
    result = run(["history", "delete", "--remote", "c1111a"])
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == (
        "gemini-cli: deleted interaction v1_c1111aaaa0001_0 from the server\n"
        "gemini-cli: interaction v1_c1111aaaa0001_1 was already gone from the server\n"
        f"gemini-cli: deleted {a}\n")
    assert [(r.method, r.path) for r in api.requests()] == [
        ("DELETE", "/v1beta/interactions/v1_c1111aaaa0001_0"), ("DELETE", "/v1beta/interactions/v1_c1111aaaa0001_1")]
    assert not a.exists() and b.exists()


def test_delete_remote_failure_keeps_the_file(home, api):
    a, _, _ = three(home)
    api.error(403, "denied", "PERMISSION_DENIED", method="DELETE", path="/v1beta/interactions/v1_c1111aaaa0001_0")
    result = run(["history", "delete", "--remote", "c1111a"])
    assert result.exit_code == 3 and "denied" in result.stderr
    assert a.exists()


def test_delete_remote_of_a_corrupt_file_exit_2_no_request(home, api):
    bad = folder(home) / "cbad.json"
    folder(home).mkdir(mode=0o700)
    bad.write_text("{")
    result = run(["history", "delete", "--remote", "cbad"])
    assert result.exit_code == 2 and str(bad) in result.stderr
    assert bad.read_text() == "{" and api.requests() == []
    assert run(["history", "delete", "cbad"]).exit_code == 0 and not bad.exists()  # without --remote it can go


# -- background: generate --background, fetch, cancel ----------------------------------------------


def start_background(api, home, interaction_id="v1_bg"):
    api.json({"id": interaction_id, "status": "in_progress", "object": "interaction"})
    result = run(["generate", "--background", "Long task"])
    assert (result.exit_code, result.stdout) == (0, f"{interaction_id}\n")
    assert api.bodies()[-1]["background"] is True
    (path,) = [p for p in folder(home).glob("c*.json")]
    assert store.load(path).turns[0].status == "pending"
    return path


def get_path(interaction_id="v1_bg"):
    return f"/v1beta/interactions/{interaction_id}"


def test_fetch_wait_polls_then_completes_the_saved_turn(home, api):
    path = start_background(api, home)
    api.json({"id": "v1_bg", "status": "in_progress"}, method="GET", path=get_path(), query_string="stream=false")
    api.json({"id": "v1_bg", "status": "in_progress"}, method="GET", path=get_path(), query_string="stream=false")
    done = interaction("The long answer.", interaction_id="v1_bg")
    done["steps"].insert(0, {"type": "user_input", "content": [{"type": "text", "text": "Long task"}]})  # GET echoes it
    api.json(done, method="GET", path=get_path(), query_string="stream=false")
    conv_id = store.load(path).id

    result = run(["history", "fetch", "v1_bg", "--wait", "--interval", "0.01", "--usage"])

    assert (result.exit_code, result.stdout) == (0, "The long answer.\n")
    assert result.stderr == ("gemini-cli: waiting for interaction v1_bg (status in_progress)\n"
                             "usage: 5 input, 7 output, 3 thought, 15 total tokens\n"
                             f"gemini-cli: saved the completed turn to conversation {conv_id}\n")
    assert [r.method for r in api.requests()] == ["POST", "GET", "GET", "GET"]
    turn = store.load(path).turns[0]
    assert (turn.interaction_id, turn.status, turn.usage) == ("v1_bg", "completed", USAGE)
    assert turn.steps == interaction("x")["steps"][:1] + [
        {"type": "model_output", "content": [{"type": "text", "text": "The long answer."}]}]
    assert [s["type"] for s in turn.input] == ["user_input"]
    # The completed turn is now history: the next turn chains to it.
    api.stream(text_events("ok"))
    assert run(["generate", "--cid", conv_id, "next"]).exit_code == 0
    assert api.bodies()[-1]["previous_interaction_id"] == "v1_bg"


def test_fetch_without_wait_of_a_running_interaction_exit_9(home, api):
    path = start_background(api, home)
    before = path.read_bytes()
    api.json({"id": "v1_bg", "status": "in_progress"}, method="GET", path=get_path())
    result = run(["history", "fetch", "v1_bg"])
    assert (result.exit_code, result.stdout) == (9, "")
    assert result.stderr == ("gemini-cli: error: interaction v1_bg is still in_progress; "
                             "wait for it with: gemini-cli history fetch v1_bg --wait\n")
    assert path.read_bytes() == before


def test_fetch_json_of_an_interaction_not_in_the_history(home, api):
    api.json(interaction("Hello.", interaction_id="v1_other"), method="GET", path=get_path("v1_other"))
    result = run(["history", "fetch", "v1_other", "-o", "json"])
    assert (result.exit_code, result.stderr) == (0, "")
    got = json.loads(result.stdout)
    assert (got["id"], got["status"], got["output_text"]) == ("v1_other", "completed", "Hello.")
    assert not folder(home).exists()


def test_fetch_failed_interaction_records_it_and_exits_9(home, api):
    path = start_background(api, home)
    api.json({"id": "v1_bg", "status": "failed", "errors": [{"code": "x", "message": "model overloaded"}]},
             method="GET", path=get_path())
    result = run(["history", "fetch", "v1_bg", "-q"])
    assert (result.exit_code, result.stdout) == (9, "")
    assert result.stderr == "gemini-cli: error: generation failed (status failed): model overloaded\n"
    assert store.load(path).turns[0].status == "failed"


def test_fetch_stream_resumes_by_last_event_id_and_completes_the_turn(home, api):
    path = start_background(api, home)
    events = text_events("one ", "two ", "three", interaction_id="v1_bg", thought="Planning")
    cut = next(i for i, e in enumerate(events) if e.get("event_id") == "t1") + 1
    api.stream(sse(events[:cut], done=False), method="GET", path=get_path(), query_string="stream=true")
    api.stream(events[cut:], method="GET", path=get_path(), query_string={"stream": "true", "last_event_id": "t1"})

    result = run(["history", "fetch", "v1_bg", "--stream", "--thoughts"])

    assert (result.exit_code, result.stdout) == (0, "one two three\n")
    conv = store.load(path)
    assert result.stderr == (
        "Planning\n"
        "gemini-cli: the stream ended before the interaction completed; resuming after event t1 in 0.0s\n"
        f"gemini-cli: saved the completed turn to conversation {conv.id}\n")
    turn = conv.turns[0]
    assert turn.status == "completed"
    assert turn.steps == [
        {"type": "thought", "summary": [{"type": "text", "text": "Planning"}], "signature": "c2lnbmF0dXJlLWJ5dGVz+/=="},
        {"type": "model_output", "content": [{"type": "text", "text": "one two three"}]}]


def test_fetch_stream_that_cannot_resume_exit_8(home, api):
    events = text_events("one ", interaction_id="v1_x")
    api.stream(sse(events[:2], done=False), method="GET", path=get_path("v1_x"))
    result = run(["history", "fetch", "v1_x", "--stream", "--retries", "0"])
    assert result.exit_code == 8
    assert result.stderr == ("gemini-cli: error: the stream ended before the interaction completed "
                             "(the interaction may still finish: gemini-cli history fetch v1_x)\n")


def test_cancel_marks_the_saved_turn(home, api):
    path = start_background(api, home)
    api.json({"id": "v1_bg", "status": "cancelled"}, method="POST", path=get_path() + "/cancel")
    result = run(["history", "cancel", "v1_bg"])
    conv = store.load(path)
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == ("gemini-cli: cancelled interaction v1_bg (status cancelled)\n"
                             f"gemini-cli: saved the cancelled turn to conversation {conv.id}\n")
    request = api.requests()[-1]
    assert (request.method, request.path, request.get_data()) == ("POST", get_path() + "/cancel", b"")
    assert conv.turns[0].status == "cancelled"
    # A cancelled turn is left out of the history the next turn builds on.
    api.stream(text_events("ok"))
    run(["generate", "--cid", conv.id, "again"])
    assert "previous_interaction_id" not in api.bodies()[-1]


def test_cancel_errors(home, api):
    api.error(404, "no such interaction", "NOT_FOUND", path=get_path("v1_gone") + "/cancel")
    result = run(["history", "cancel", "v1_gone"])
    assert (result.exit_code, result.stdout) == (4, "")
    assert "no such interaction" in result.stderr


def test_network_subcommands_need_a_key_and_list_does_not(home, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    assert run(["history", "fetch", "v1_x"]).exit_code == 3
    assert run(["history", "cancel", "v1_x"]).exit_code == 3
    assert run(["history", "list"]).exit_code == 0


def test_short_time_formats_ours_and_the_apis_timestamps_alike():
    from gemini_cli.errors import one_line
    from gemini_cli.render.transcript import short_time

    assert short_time("2026-05-22T10:00:05.123Z") == "2026-05-22 10:00 UTC"  # ours, cut as text
    assert short_time("2026-05-22T12:00:05.123456+02:00") == "2026-05-22 10:00 UTC"  # the API's, parsed
    assert short_time("2026-05-22T10:00:05z") == "2026-05-22 10:00 UTC"
    assert (short_time("soon"), short_time(None)) == ("soon", "")
    assert one_line(" a\n b\tc ") == "a b c" and one_line(None) == ""


def test_fetch_json_of_a_running_interaction_is_an_error_document(home, api):
    api.json({"id": "v1_run", "status": "in_progress"}, method="GET", path=get_path("v1_run"))
    result = run(["history", "fetch", "v1_run", "-o", "json"])
    assert result.exit_code == 9
    assert json.loads(result.stdout) == {
        "error": {"code": "not_completed", "exit_code": 9, "message": "interaction v1_run is still in_progress; "
                  "wait for it with: gemini-cli history fetch v1_run --wait"},
        "id": "v1_run", "status": "in_progress", "steps": []}


def test_fetch_json_of_a_missing_interaction_is_an_error_document(home, api):
    api.error(404, "not found", "NOT_FOUND", method="GET", path=get_path("v1_gone"))
    result = run(["history", "fetch", "v1_gone", "-o", "json", "--retries", "0"])
    assert result.exit_code == 4
    assert json.loads(result.stdout)["error"] == {"code": "NOT_FOUND", "exit_code": 4, "http_status": 404,
                                                  "message": "HTTP 404 NOT_FOUND: not found"}
