"""The upload progress bar on stderr (rich.progress): bytes, percentage, rate and ETA.

Drawn only when the stream is a terminal (and not --quiet); otherwise every call is a
no-op and rich is never imported, so piped and logged runs stay silent and start fast.
NO_COLOR draws it without colour. The stream and the clock are injected, so the drawing
is testable without a terminal or time passing.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, TextIO

from gemini_cli.render.output import use_colour
from gemini_cli.render.terminal import isatty, visible
# rich is imported inside ProgressBar, when a bar is drawn: rich.progress costs ~27 ms where
# nothing loaded rich before (tests/test_progress.py checks that a bar not drawn loads no rich).

MIN_INTERVAL = 0.1  # seconds between redraws; the first and the last are always drawn
MAX_LABEL = 28  # longer labels (file names) keep their end


def human_bytes(n: float) -> str:
    """1023 B, 1.0 KiB, 12.3 MiB, 1.00 GiB (for messages: no rich needed)."""
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
    """``update(done)`` (or call it as a ``progress(done, total)`` callback) as bytes go out,
    ``close()`` at the end: the final state stays on its line.

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
        self.done = 0
        self.last_draw: float | None = None
        self.closed = False
        self._progress: Any = None  # rich.progress.Progress, made on the first draw
        self._task: Any = None

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
        """Take the bar off the screen (transient: its line is erased) until the next update."""
        if self._progress is not None and self.last_draw is not None:
            self._progress.stop()
            self.last_draw = None

    def close(self) -> None:
        if self.closed:
            return
        if self.enabled:
            self._draw(self.clock())
            self._progress.stop()
            self._progress.console.print(self._progress.get_renderable())  # the final state stays
        self.closed = True

    def _draw(self, now: float) -> None:
        progress = self._progress or self._make()
        progress.update(self._task, completed=self.done, total=self.total or None)
        if self.last_draw is None:
            progress.start()
        progress.refresh()
        self.last_draw = now

    def _make(self) -> Any:
        from rich.console import Console
        from rich.progress import (
            BarColumn, DownloadColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn,
            TransferSpeedColumn,
        )

        console = Console(file=self.stream, force_terminal=True, no_color=not use_colour(self.stream),
                          highlight=False, soft_wrap=False)
        self._progress = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), TaskProgressColumn(),
            DownloadColumn(binary_units=True), TransferSpeedColumn(), TimeRemainingColumn(elapsed_when_finished=True),
            console=console, auto_refresh=False, transient=True, get_time=self.clock,
            redirect_stdout=False, redirect_stderr=False,  # the answer and notes keep their streams
        )
        self._task = self._progress.add_task(self.label, total=self.total or None)
        return self._progress
