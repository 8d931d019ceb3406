"""Terminal niceties: --markdown (ANSI rendering on a terminal only) and --extract /
--extract-last (the first / last fenced code block of the answer)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import termios

import pytest

from conftest import interaction, text_events
from conftest import run_checked as run
from gemini_cli.render.extract import code_blocks, extract
from gemini_cli.render.markdown import MarkdownStream, inline, render

B, N = "\x1b[1m", "\x1b[22m"  # bold on / off
I, NI = "\x1b[3m", "\x1b[23m"
U, NU = "\x1b[4m", "\x1b[24m"
DIM = "\x1b[2m"
MAG, GRN, YEL, BLU, CYN, DEF = "\x1b[35m", "\x1b[32m", "\x1b[33m", "\x1b[34m", "\x1b[36m", "\x1b[39m"

ANSWER = (
    "# Plan\n"
    "Use **bold**, *italics* and `code`.\n"
    "- first [docs](https://docs.example/x)\n"
    "  2. nested\n"
    "> quoted\n"
    "---\n"
    "```python\n"
    "print('**not bold**')\n"
    "```\n"
    "snake_case_name stays"
)
RENDERED = (
    f"{B}{MAG}# Plan{DEF}{N}\n"
    f"Use {B}bold{N}, {I}italics{NI} and {CYN}code{DEF}.\n"
    f"{YEL}•{DEF} first {U}docs{NU} {BLU}(https://docs.example/x){DEF}\n"
    f"  {YEL}2.{DEF} nested\n"
    f"{DIM}│{N} {I}quoted{NI}\n"
    f"{DIM}{'─' * 40}{N}\n"
    f"{DIM}```python{N}\n"
    f"{GRN}print('**not bold**'){DEF}\n"
    f"{DIM}```{N}\n"
    "snake_case_name stays"
)


# -- the renderer ----------------------------------------------------------------------


def test_render_block_and_inline_elements():
    assert render(ANSWER) == RENDERED


@pytest.mark.parametrize("text, expected", [
    ("plain text", "plain text"),
    ("a __b__ c", f"a {B}b{N} c"),
    ("~~old~~ new", "\x1b[9mold\x1b[29m new"),
    ("**bold with *italic* inside**", f"{B}bold with {I}italic{NI} inside{N}"),
    (r"\*literal\* and 2 * 3 * 4", "*literal* and 2 * 3 * 4"),
    ("see <https://x.example/a>", f"see {U}{BLU}https://x.example/a{DEF}{NU}"),
    ("[https://x.example](https://x.example)", f"{U}{BLU}https://x.example{DEF}{NU}"),
    ("`` a `tick` ``", f"{CYN}a `tick`{DEF}"),
    ("`**x**`", f"{CYN}**x**{DEF}"),
    ("file_name_here and _em_", f"file_name_here and {I}em{NI}"),
])
def test_inline(text, expected):
    assert inline(text) == expected


def test_headings_rules_and_lists():
    assert render("### Three ###") == f"{B}{MAG}### Three{DEF}{N}"
    assert render("#hashtag") == "#hashtag"
    assert render("* * *\n+ plus\n10) ten") == f"{DIM}{'─' * 40}{N}\n{YEL}•{DEF} plus\n{YEL}10){DEF} ten"


def test_tilde_fences_and_an_unclosed_fence():
    assert render("~~~\n# not a heading\n```\n~~~\n# heading") == (
        f"{DIM}~~~{N}\n{GRN}# not a heading{DEF}\n{GRN}```{DEF}\n{DIM}~~~{N}\n{B}{MAG}# heading{DEF}{N}")
    assert render("```\ncode\n\n- x") == f"{DIM}```{N}\n{GRN}code{DEF}\n\n{GRN}- x{DEF}"


def test_streaming_gives_the_same_bytes_as_rendering_at_once():
    stream = MarkdownStream()
    pieces = [stream.feed(ch) for ch in ANSWER]
    assert "".join(pieces) + stream.finish() == RENDERED
    stream = MarkdownStream()
    assert stream.feed("# Pl") == ""  # nothing until the line is complete
    assert stream.feed("an\nmore") == f"{B}{MAG}# Plan{DEF}{N}\n"


# -- --markdown through the CLI -------------------------------------------------------------


def test_markdown_when_piped_is_plain_text(api):
    api.stream(text_events(ANSWER[:10], ANSWER[10:]))
    result = run(["generate", "--markdown", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, ANSWER + "\n", "")


def test_markdown_on_a_colour_terminal_is_rendered(api, monkeypatch):
    monkeypatch.setattr("gemini_cli.render.context.IOContext.colour", lambda self, stream: True)
    api.stream(text_events(ANSWER[:10], ANSWER[10:25], ANSWER[25:]))
    result = run(["generate", "--markdown", "hi"])
    assert (result.exit_code, result.stdout) == (0, RENDERED + "\n")


def test_markdown_non_streamed(api, monkeypatch):
    monkeypatch.setattr("gemini_cli.render.context.IOContext.colour", lambda self, stream: True)
    api.json(interaction("**done**"))
    result = run(["generate", "--no-stream", "--markdown", "hi"])
    assert (result.exit_code, result.stdout) == (0, f"{B}done{N}\n")


def run_on_a_terminal(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the CLI in a subprocess whose stdout is a pseudo-terminal (output post-processing off)."""
    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST  # no "\n" -> "\r\n"
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    proc = subprocess.Popen([sys.executable, "-m", "gemini_cli", *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    stderr = proc.stderr.read().decode()
    return proc.wait(timeout=30), b"".join(chunks).decode(), stderr


def test_markdown_on_a_real_terminal(api):
    api.stream(text_events("Use **bold**\n", "- item"))
    code, stdout, stderr = run_on_a_terminal(["generate", "--markdown", "--no-save", "hi"])
    assert (code, stderr) == (0, "")
    assert stdout == f"Use {B}bold{N}\n{YEL}•{DEF} item\n"


def test_no_color_on_a_terminal_streams_plain_text(api):
    api.stream(text_events("Use **bold**\n", "- item"))
    code, stdout, stderr = run_on_a_terminal(["generate", "--markdown", "--no-save", "hi"], env={"NO_COLOR": "1"})
    assert (code, stdout) == (0, "Use **bold**\n- item\n")


def test_without_markdown_a_terminal_gets_the_raw_text(api):
    api.stream(text_events("Use **bold**"))
    code, stdout, _ = run_on_a_terminal(["generate", "--no-save", "hi"])
    assert (code, stdout) == (0, "Use **bold**\n")


def test_chat_markdown_when_piped_is_plain(api):
    api.stream(text_events("**a**"))
    result = run(["chat", "--no-save", "--markdown"], input="hi\n")
    assert (result.exit_code, result.stdout) == (0, "**a**\n")


# -- extraction -----------------------------------------------------------------------------


TWO_BLOCKS = (
    "Here is a script:\n\n"
    "```python\n"
    "import sys\n"
    "\n"
    "print(sys.argv)\n"
    "```\n\n"
    "And a test:\n\n"
    "   ~~~~ bash\n"
    "   echo ok\n"
    "     indented\n"
    "   ~~~~\n"
    "Done."
)


def test_code_blocks():
    blocks = code_blocks(TWO_BLOCKS)
    assert [(b.info, b.code, b.closed) for b in blocks] == [
        ("python", "import sys\n\nprint(sys.argv)\n", True),
        ("bash", "echo ok\n  indented\n", True),
    ]
    assert extract("no code") is None
    assert extract("````md\n```\ninner\n```\n````").code == "```\ninner\n```\n"
    assert extract("``` not`a fence\ncode\n```").code == ""  # the line with backticks is not an opening fence
    unclosed = extract("```sh\nrm -rf build")
    assert (unclosed.code, unclosed.closed) == ("rm -rf build\n", False)


def test_extract_prints_only_the_first_block(api, tmp_path):
    cut = TWO_BLOCKS.index("print")  # a delta boundary inside the block
    api.stream(text_events(TWO_BLOCKS[:5], TWO_BLOCKS[5:cut], TWO_BLOCKS[cut:], thought="Planning"))
    session = tmp_path / "c.json"
    result = run(["generate", "--extract", "--thoughts", "--session", str(session), "Write it"])
    assert (result.exit_code, result.stdout) == (0, "import sys\n\nprint(sys.argv)\n")
    assert result.stderr == "Planning\n"
    assert json.loads(session.read_text())["turns"][0]["steps"][-1]["content"][0]["text"] == TWO_BLOCKS


def test_extract_last(api):
    api.stream(text_events(TWO_BLOCKS))
    result = run(["generate", "--extract-last", "Write it"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "echo ok\n  indented\n", "")


def test_extract_non_streamed(api):
    api.json(interaction("```\nx = 1\n```"))
    result = run(["generate", "--no-stream", "--extract", "x"])
    assert (result.exit_code, result.stdout) == (0, "x = 1\n")


def test_no_block_prints_nothing_exits_10_and_saves_the_turn(api, tmp_path):
    api.stream(text_events("I cannot write that."))
    session = tmp_path / "c.json"
    result = run(["generate", "--extract", "--session", str(session), "x"])
    assert (result.exit_code, result.stdout) == (10, "")
    assert result.stderr == "gemini-cli: error: --extract: the answer has no fenced code block; nothing was printed\n"
    assert json.loads(session.read_text())["turns"][0]["status"] == "completed"


def test_incomplete_answer_prints_the_block_then_exits_9(api):
    api.stream(text_events("```py\nprint(1)\n```\nand then", status="incomplete"))
    result = run(["generate", "--extract", "x"])
    assert (result.exit_code, result.stdout) == (9, "print(1)\n")
    assert "incomplete" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--extract", "--extract-last"], "give --extract or --extract-last, not both"),
    (["--extract", "-o", "json"], "--extract prints a code block as text; it cannot be combined with -o json"),
])
def test_extract_flag_conflicts_exit_2(api, args, message):
    result = run(["generate", *args, "x"])
    assert (result.exit_code, result.stderr) == (2, f"gemini-cli: error: {message}\n")
    assert api.requests() == []


def test_chat_has_no_extract(api):
    result = run(["chat", "--extract"], input="hi\n")
    assert result.exit_code == 2
    assert result.stderr == "gemini-cli: error: chat: no such option: --extract (see gemini-cli chat --help)\n"
