"""gemini_cli.render.progress: the upload progress bar, with an injected stream and clock."""

from __future__ import annotations

import io

import pytest

from gemini_cli.render.progress import CLEAR_LINE, ProgressBar, human_bytes, human_duration

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


def test_render_shows_bytes_percentage_rate_and_eta():
    clock = Clock()
    bar = ProgressBar(100 * MiB, "video.mp4", stream=Tty(), clock=clock)
    clock.now += 2.0
    bar.update(25 * MiB)
    assert bar.render(clock.now) == "video.mp4 [######------------------]  25% 25.0 MiB/100.0 MiB 12.5 MiB/s ETA 0:06"


def test_render_before_any_bytes_has_no_rate():
    clock = Clock()
    bar = ProgressBar(10, "x", stream=Tty(), clock=clock)
    assert bar.render(clock.now) == "x [------------------------]   0% 0 B/10 B --/s ETA --:--"


def test_render_when_done_shows_the_time_taken():
    clock = Clock()
    bar = ProgressBar(4 * MiB, "", stream=Tty(), clock=clock)
    clock.now += 65
    bar.update(4 * MiB)
    assert bar.render(clock.now) == "[########################] 100% 4.00 MiB/4.00 MiB 63.0 KiB/s 1:05"


def test_on_a_terminal_it_redraws_one_line_and_ends_with_a_newline():
    clock, out = Clock(), Tty()
    bar = ProgressBar(1000, "f", stream=out, clock=clock)
    clock.now += 1
    bar(500, 1000)
    clock.now += 1
    bar(1000, 1000)
    bar.close()
    bar.close()  # idempotent
    frames = out.getvalue().split(CLEAR_LINE)
    assert frames[0] == ""
    assert frames[1] == "f [############------------]  50% 500 B/1000 B 500 B/s ETA 0:01"
    assert frames[2] == "f [########################] 100% 1000 B/1000 B 500 B/s 0:02"
    assert frames[3] == "f [########################] 100% 1000 B/1000 B 500 B/s 0:02\n"
    assert len(frames) == 4


def test_redraws_are_throttled_but_the_last_is_always_drawn():
    clock, out = Clock(), Tty()
    bar = ProgressBar(100, "f", stream=out, clock=clock)
    for done in range(1, 100):
        clock.now += 0.001
        bar.update(done)
    assert out.getvalue().count(CLEAR_LINE) == 1  # the first only: the rest came within 0.1 s
    clock.now += 0.001
    bar.update(100)
    assert out.getvalue().count(CLEAR_LINE) == 2
    clock.now += 0.2
    bar.update(100)
    assert out.getvalue().count(CLEAR_LINE) == 3


def test_not_a_terminal_is_silent():
    out = io.StringIO()
    bar = ProgressBar(100, "f", stream=out, clock=Clock())
    bar.update(50)
    bar.clear()
    bar.close()
    assert out.getvalue() == ""
    assert bar.done == 50


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
    assert out.getvalue().endswith(CLEAR_LINE)
    out.write("gemini-cli: retrying\n")
    clock.now += 0.01
    bar.update(20)  # redrawn at once after a clear, throttle or not
    assert out.getvalue().endswith("gemini-cli: retrying\n" + CLEAR_LINE + bar.render(clock.now))


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
