"""gemini_cli.cli.repl: line parsing, \"\"\" blocks, slash commands, turn display, $EDITOR (no HTTP)."""

from __future__ import annotations

import io
import sys

import pytest

from gemini_cli.cli import repl
from gemini_cli.state.conversation import Conversation
from gemini_cli.errors import UsageError
from gemini_cli.cli.repl import Command, Message


def reader(*lines: str):
    """A read_line function over lines that records the prompts it was given."""
    queue = list(lines)
    prompts: list[str] = []

    def read_line(prompt: str) -> str:
        prompts.append(prompt)
        if not queue:
            raise EOFError
        line = queue.pop(0)
        if line == "^C":
            raise KeyboardInterrupt
        return line

    read_line.prompts = prompts  # type: ignore[attr-defined]
    return read_line


def items(*lines: str) -> list:
    read_line = reader(*lines)
    out = []
    while (item := repl.read_item(read_line, "> ", "... ")) is not None:
        out.append(item)
    return out


@pytest.mark.parametrize(
    "line, expected",
    [
        ("hello", Message("hello")),
        ("  spaced out  ", Message("spaced out")),
        ("", None),
        ("   \t", None),
        ("/help", Command("help")),
        ("/MODEL  gemini-2.5-pro ", Command("model", "gemini-2.5-pro")),
        ("/system Be brief.  Really.", Command("system", "Be brief.  Really.")),
        ("//etc/hosts is a file", Message("/etc/hosts is a file")),
        ("/", Command("", "")),
    ],
)
def test_parse_line(line, expected):
    assert repl.parse_line(line) == expected


def test_blank_lines_are_skipped():
    assert items("", "a", "  ", "b") == [Message("a"), Message("b")]


def test_block_is_one_message_verbatim():
    got = items('"""', "  indented", "", "/model not-a-command", '"""', "after")
    assert got == [Message("  indented\n\n/model not-a-command"), Message("after")]


def test_block_prompts():
    read_line = reader('"""', "x", '"""')
    assert repl.read_item(read_line, "m> ", "... ") == Message("x")
    assert read_line.prompts == ["m> ", "... ", "... "]


def test_empty_block_is_skipped():
    assert items('"""', "", '"""', "next") == [Message("next")]


def test_block_with_spaces_around_the_quotes():
    assert items('  """ ', "x", ' """') == [Message("x")]


def test_end_of_input_inside_a_block_sends_it():
    assert items('"""', "one", "two") == [Message("one\ntwo", unterminated=True)]
    assert items('"""', " ") == []


def test_ctrl_c_propagates_and_drops_the_block():
    read_line = reader('"""', "half", "^C", "next")
    with pytest.raises(KeyboardInterrupt):
        repl.read_item(read_line)
    assert repl.read_item(read_line) == Message("next")


def test_end_of_input():
    assert repl.read_item(reader()) is None


def test_help_lists_every_command():
    text = repl.help_text()
    for name in repl.COMMANDS:
        assert f"/{name}" in text
    assert '"""' in text


@pytest.mark.parametrize("typo, expected", [("modle", "model"), ("hist", "history"), ("retyr", "retry"), ("xyzzy", None)])
def test_suggest(typo, expected):
    assert repl.suggest(typo) == expected


def test_shorten():
    assert repl.shorten("a\n  b\tc") == "a b c"
    assert repl.shorten("x" * 20, 10) == "x" * 9 + "…"
    assert len(repl.shorten("word " * 50, 30)) <= 30


def conversation() -> Conversation:
    conv = Conversation.new("gemini-3-flash-preview", True)
    t1 = conv.add_turn([{"type": "user_input", "content": [{"type": "text", "text": "first\nquestion"}]}])
    t1.record({"id": "v1_1", "status": "completed",
               "steps": [{"type": "thought", "signature": "c2ln"},
                         {"type": "model_output", "content": [{"type": "text", "text": "the answer\n"}]}]})
    t2 = conv.add_turn([{"type": "user_input", "content": [
        {"type": "image", "uri": "https://example.com/a.png", "mime_type": "image/png"},
        {"type": "text", "text": "what is this"}]}], model="gemini-2.5-pro")
    t2.record({"id": "v1_2", "status": "interrupted",
               "steps": [{"type": "model_output", "content": [{"type": "text", "text": "It is"}]}]})
    return conv


def test_transcript():
    assert repl.transcript(conversation()) == (
        "--- turn 1\nyou: first\nquestion\ngemini-3-flash-preview: the answer\n\n"
        "--- turn 2\nyou: what is this [+1 attachment]\ngemini-2.5-pro [interrupted]: It is\n\n"
    )


def test_short_turn_lines():
    conv = conversation()
    assert repl.turn_lines(conv.turns[0], conv.model, short=True) == [
        "  you: first question", "  gemini-3-flash-preview: the answer"]


def test_turn_input_text_or_blocks():
    conv = conversation()
    assert repl.turn_input(conv.turns[0]) == "first\nquestion"
    assert repl.turn_input(conv.turns[1]) == conv.turns[1].input[0]["content"]
    conv.turns[0].input = []
    assert repl.turn_input(conv.turns[0]) is None


def test_piped_input_lines():
    read_line = repl.PipedInput(io.BytesIO("one\r\ntwo\nthrée".encode()))
    assert [read_line(), read_line(), read_line()] == ["one", "two", "thrée"]
    with pytest.raises(EOFError):
        read_line()


def test_piped_input_not_utf8():
    with pytest.raises(UsageError, match="UTF-8"):
        repl.PipedInput(io.BytesIO(b"\xff\xfe\n"))()


def test_terminal_input_without_a_terminal_reads_plain_lines():
    stdin, stderr = io.StringIO("typed\n"), io.StringIO()
    from gemini_cli.render.context import IOContext

    read_line = repl.TerminalInput(None, IOContext(stdin, io.StringIO(), stderr))
    assert read_line.readline is None  # stderr is no terminal: no readline
    assert read_line("m> ") == "typed"
    assert stderr.getvalue() == "m> "
    with pytest.raises(EOFError):
        read_line("m> ")


def editor(tmp_path, monkeypatch, code: str) -> None:
    script = tmp_path / "editor.py"
    script.write_text("import sys\n" + code + "\n")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")


def test_edit_text(tmp_path, monkeypatch):
    editor(tmp_path, monkeypatch, "p = sys.argv[1]; t = open(p).read(); open(p, 'w').write(t + ' and more')")
    assert repl.edit_text("start") == "start and more"


def test_edit_text_editor_fails(tmp_path, monkeypatch):
    editor(tmp_path, monkeypatch, "sys.exit(3)")
    with pytest.raises(UsageError, match="status 3"):
        repl.edit_text()


def test_edit_text_editor_missing(monkeypatch):
    monkeypatch.setenv("VISUAL", "/nonexistent/editor --wait")
    with pytest.raises(UsageError, match="cannot run the editor"):
        repl.edit_text()


def test_editor_command(monkeypatch):
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    assert repl.editor_command() == ["vi"]
    monkeypatch.setenv("EDITOR", "code --wait")
    assert repl.editor_command() == ["code", "--wait"]
    monkeypatch.setenv("VISUAL", "nano")
    assert repl.editor_command() == ["nano"]
    monkeypatch.setenv("VISUAL", "  ")
    with pytest.raises(UsageError, match="is empty"):
        repl.editor_command()
    monkeypatch.setenv("VISUAL", "'unclosed")
    with pytest.raises(UsageError, match="cannot parse the editor command"):
        repl.edit_text()


# -- pasting several lines -----------------------------------------------------------------


def test_a_paste_of_several_lines_is_one_message_verbatim():
    """A "line" holding newlines is what the terminal reader returns for a bracketed paste."""
    got = items("\n  def f():\n      return 1\n\n", "one line\n", "/help\n", '"""\n/model x\n"""\n', "\n\n", "after")
    assert got == [Message("  def f():\n      return 1"), Message("one line"), Command("help"), Message("/model x"),
                   Message("after")]


def test_terminal_input_without_readline_joins_a_marked_paste():
    stdin = io.StringIO("\x1b[200~first\nsecond\n\x1b[201~\ntyped\n\x1b[200~cut")
    from gemini_cli.render.context import IOContext

    read_line = repl.TerminalInput(None, IOContext(stdin, io.StringIO(), io.StringIO()))
    assert [read_line("> "), read_line("> "), read_line("> ")] == ["first\nsecond\n", "typed", "cut"]


def read_until(fd: int, wanted: bytes, seen: bytearray, start: int = 0, timeout: float = 20.0) -> int:
    """Read the terminal until `wanted` has appeared in `seen` after `start` (one read may bring
    it together with what was waited for before); where it ends. Fails on a timeout."""
    import os
    import select
    import time

    deadline = time.monotonic() + timeout
    while wanted not in seen[start:]:
        assert time.monotonic() < deadline, f"{wanted!r} never came: {bytes(seen)!r}"
        if select.select([fd], [], [], 0.1)[0]:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                data = b""
            assert data, f"the terminal closed before {wanted!r}: {bytes(seen)!r}"
            seen += data
    return seen.index(wanted, start) + len(wanted)


def test_a_bracketed_paste_in_chat_on_a_terminal_is_one_message(api):
    """In a pty, as a user's terminal: chat turns bracketed paste on while it waits for a line
    (ESC[?2004h), the terminal marks a paste of two lines, and it goes out as one message;
    the mode is off again (ESC[?2004l) when chat ends."""
    import os
    import pty
    import subprocess

    from conftest import text_events

    api.stream(text_events("Pasted."))
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gemini_cli", "chat", "--no-save"], stdin=slave, stdout=slave,
                            stderr=slave, env={**os.environ, "TERM": "xterm", "NO_COLOR": "1"})
    os.close(slave)
    seen = bytearray()
    try:
        at = read_until(master, b"\x1b[?2004hgemini-3-flash-preview> ", seen)
        os.write(master, b"\x1b[200~first line\rsecond line\x1b[201~\r")  # a terminal sends CR for each newline
        at = read_until(master, b"Pasted.", seen, at)
        read_until(master, b"gemini-3-flash-preview> ", seen, at)
        os.write(master, b"\x04")  # Ctrl-D at the prompt: leave
        assert proc.wait(timeout=20) == 0
        try:
            while data := os.read(master, 65536):
                seen += data
        except OSError:
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert [body["input"] for body in api.bodies()] == ["first line\nsecond line"]
    assert bytes(seen).count(b"Pasted.") == 1
    assert bytes(seen).rfind(b"\x1b[?2004l") > bytes(seen).rfind(b"\x1b[?2004h")
