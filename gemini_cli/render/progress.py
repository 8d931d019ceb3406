"""A one-line progress bar on stderr: bytes, percentage, rate and ETA.

Drawn only when the stream is a terminal (and not --quiet); otherwise every call is a
no-op, so piped and logged runs stay silent. The stream and the clock are injected, so
the rendering is testable without a terminal or time passing.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from gemini_cli.render.terminal import isatty, visible

BAR_WIDTH = 24
MIN_INTERVAL = 0.1  # seconds between redraws; the first and the last are always drawn
CLEAR_LINE = "\r\x1b[K"
MAX_LABEL = 28  # longer labels (file names) keep their end


def human_bytes(n: float) -> str:
    """1023 B, 1.0 KiB, 12.3 MiB, 1.00 GiB."""
    if n < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            return f"{n:.2f} {unit}" if n < 10 else f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def human_duration(seconds: float) -> str:
    """0:07, 12:34, 1:02:03."""
    seconds = max(int(seconds + 0.5), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """``update(done)`` as bytes go out, ``close()`` at the end (a final line and a newline).

    ``clear()`` wipes the bar so that a note can be printed; the next update redraws it.
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        enabled: bool | None = None,
    ):
        self.total = max(total, 0)
        label = visible(label)  # drawn on a terminal only: a file name's escapes are shown, not obeyed
        self.label = label if len(label) <= MAX_LABEL else "…" + label[-(MAX_LABEL - 1):]
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.enabled = isatty(self.stream) if enabled is None else enabled
        self.start = clock()
        self.done = 0
        self.drawn = False  # a bar is on the line now
        self.last_draw: float | None = None
        self.closed = False

    def update(self, done: int) -> None:
        self.done = min(max(done, 0), self.total) if self.total else max(done, 0)
        if not self.enabled or self.closed:
            return
        now = self.clock()
        if self.last_draw is not None and now - self.last_draw < MIN_INTERVAL and self.done < self.total:
            return
        self._draw(now)

    def __call__(self, done: int, total: int | None = None) -> None:
        """A progress callback: (bytes done, total)."""
        if total is not None:
            self.total = total
        self.update(done)

    def clear(self) -> None:
        if self.enabled and self.drawn:
            self._write(CLEAR_LINE)
            self.drawn = False
            self.last_draw = None

    def close(self) -> None:
        if self.closed:
            return
        if self.enabled:
            self._draw(self.clock())
            self._write("\n")
        self.closed = True

    def render(self, now: float) -> str:
        """The bar's text at time ``now`` (no control characters)."""
        elapsed = max(now - self.start, 0.0)
        fraction = self.done / self.total if self.total else 1.0
        filled = int(fraction * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.done >= self.total:
            eta = human_duration(elapsed)  # finished: how long it took
        elif rate > 0:
            eta = "ETA " + human_duration((self.total - self.done) / rate)
        else:
            eta = "ETA --:--"
        speed = f"{human_bytes(rate)}/s" if rate > 0 else "--/s"
        label = f"{self.label} " if self.label else ""
        return (
            f"{label}[{bar}] {fraction * 100:3.0f}% {human_bytes(self.done)}/{human_bytes(self.total)} "
            f"{speed} {eta}"
        )

    def _draw(self, now: float) -> None:
        self._write(CLEAR_LINE + self.render(now))
        self.drawn = True
        self.last_draw = now

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
