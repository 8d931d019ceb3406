"""gemini_cli.render.progress: the upload progress bar (rich.progress), with an injected stream and clock."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from gemini_cli.render.progress import ProgressBar, human_bytes, human_duration

MiB = 1024 * 1024


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("n, text", [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.00 KiB"), (1536, "1.50 KiB"), (10 * 1024, "10.0 KiB"),
    (5 * MiB, "5.00 MiB"), (123.45 * MiB, "123.5 MiB"), (1024 * MiB, "1.00 GiB"), (2 * 1024**4, "2.00 TiB"),
    (2048 * 1024**4, "2048.0 TiB"),
])
def test_human_bytes(n, text):
    assert human_bytes(n) == text


@pytest.mark.parametrize("seconds, text", [(0, "0:00"), (7.4, "0:07"), (7.6, "0:08"), (754, "12:34"), (3723, "1:02:03"), (-3, "0:00")])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


SGR = re.compile(r"\x1b\[[0-9;]*m")  # colours and styles
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # every control sequence, cursor moves too
ERASE_LINE = "\x1b[2K"


def frames(out: io.StringIO) -> list[str]:
    """The bar's drawings, as plain text (each redraw starts by erasing the line)."""
    text = CONTROL.sub(lambda m: "\n" if m.group() == ERASE_LINE else "", out.getvalue())
    return [line.rstrip() for line in text.replace("\r", "").split("\n") if line.strip()]


def test_on_a_terminal_it_shows_bytes_percentage_rate_and_eta(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    clock, out = Clock(), Tty()
    bar = ProgressBar(100 * MiB, "video.mp4", stream=out, clock=clock)
    clock.now += 2.0
    bar(25 * MiB, 100 * MiB)
    first = frames(out)[-1]
    assert first.startswith("video.mp4 ")
    assert " 25% 25.0/100.0 MiB " in first
    for step in range(1, 4):  # a steady 12.5 MiB/s
        clock.now += 2.0
        bar.update((25 + 25 * step) * MiB if step < 3 else 100 * MiB)
        if step == 2:
            assert frames(out)[-1].endswith("75% 75.0/100.0 MiB 13.1 MB/s 0:00:02")  # rate, ETA
    bar.close()
    bar.close()  # idempotent
    assert frames(out)[-1].endswith("100% 100.0/100.0 MiB 13.1 MB/s 0:00:06")  # finished: time since the first drawing
    assert out.getvalue().endswith("\n")  # the final state stays on its own line
    assert SGR.search(out.getvalue())  # in colour


def test_no_color_draws_the_bar_without_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    clock, out = Clock(), Tty()
    bar = ProgressBar(1000, "f", stream=out, clock=clock)
    clock.now += 1
    bar.update(500)
    bar.close()
    assert frames(out)[-1].startswith("f ") and " 50% 500/1,000 bytes " in frames(out)[-1]
    assert not SGR.search(out.getvalue())


def test_redraws_are_throttled_but_the_last_is_always_drawn():
    clock, out = Clock(), Tty()
    bar = ProgressBar(100, "f", stream=out, clock=clock)
    bar.update(1)
    drawn = len(frames(out))
    assert drawn >= 1
    for done in range(2, 100):
        clock.now += 0.001
        bar.update(done)
    assert len(frames(out)) == drawn  # all came within 0.1 s of the first
    assert "1%" in frames(out)[-1]
    clock.now += 0.001
    bar.update(100)
    assert len(frames(out)) == drawn + 1 and "100%" in frames(out)[-1]
    clock.now += 0.2
    bar.update(100)
    assert len(frames(out)) == drawn + 2


def test_not_a_terminal_is_silent_and_imports_no_rich():
    code = (
        "import io, sys\n"
        "from gemini_cli.render.progress import ProgressBar\n"
        "out = io.StringIO()\n"
        "bar = ProgressBar(100, 'f', stream=out)\n"
        "bar.update(50); bar.clear(); bar.close()\n"
        "assert out.getvalue() == '' and bar.done == 50\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "[]\n", "")


def test_disabled_explicitly_is_silent_even_on_a_terminal():
    out = Tty()
    bar = ProgressBar(100, "f", stream=out, enabled=False)
    bar.update(100)
    bar.close()
    assert out.getvalue() == ""


def test_clear_wipes_the_line_so_a_note_can_be_printed():
    clock, out = Clock(), Tty()
    bar = ProgressBar(100, "f", stream=out, clock=clock)
    bar.clear()
    assert out.getvalue() == ""  # nothing drawn yet: nothing to clear
    bar.update(10)
    bar.clear()
    assert out.getvalue().endswith(ERASE_LINE)  # the bar's line is blank again
    out.write("gemini-cli: retrying\n")
    clock.now += 0.01
    bar.update(20)  # redrawn at once after a clear, throttle or not
    after = out.getvalue().split("gemini-cli: retrying\n", 1)[1]
    assert "20%" in frames(io.StringIO(after))[-1]


def test_long_labels_keep_their_end():
    bar = ProgressBar(1, "a-very-long-directory-name-and-file-name.mp4", stream=io.StringIO())
    assert bar.label == "…tory-name-and-file-name.mp4"
    assert len(bar.label) == 28


def test_done_is_clamped_to_the_total():
    bar = ProgressBar(10, stream=Tty(), clock=Clock())
    bar.update(15)
    assert bar.done == 10
    bar.update(-1)
    assert bar.done == 0


def test_stderr_is_the_default_stream(capsys):
    bar = ProgressBar(10, "f")
    assert bar.enabled is False  # captured stderr is not a terminal
    bar.update(10)
    bar.close()
    assert capsys.readouterr().err == ""
