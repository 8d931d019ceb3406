"""`batch` on stderr: a rich progress bar on a terminal (rows done, failed, rate, ETA,
requests in flight), notes, and the summary line at the end (also when piped; not with -q).

The bar is drawn only when stderr is a terminal, stdout is not (records on the same
terminal would be torn by redraws), -q is not given; rich honours NO_COLOR.
"""

from __future__ import annotations

import time
from typing import Any

from gemini_cli.render.output import Console, isatty
from gemini_cli.render.progress import human_duration
# rich is imported inside BatchProgress, when the bar is drawn: rich.progress costs ~27 ms where
# nothing loaded rich before.

REFRESH = 0.1


class BatchProgress:
    def __init__(self, console: Console, total: int | None, *, enabled: bool):
        self.console = console
        self.start = time.monotonic()
        self.last = 0.0
        self.bar: Any = None
        if enabled:
            from rich.console import Console as RichConsole
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[failed]} failed"), TextColumn("{task.fields[rate]} rows/s"),
                TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[slots]} in flight"),
                console=RichConsole(file=console.stderr), redirect_stdout=False, redirect_stderr=False,
            )
            self.task = self.bar.add_task("batch", total=total, failed=0, rate="--", slots=0)
            self.bar.start()

    @staticmethod
    def wanted(console: Console, stdout: Any) -> bool:
        return not console.quiet and isatty(console.stderr) and not isatty(stdout)

    def note(self, message: str) -> None:
        if self.bar is not None:
            if not self.console.quiet:
                self.bar.console.print(f"gemini-cli: {self.console.clean(message)}", markup=False, highlight=False)
        else:
            self.console.note(message)

    def update(self, batch: Any, force: bool = False) -> None:
        if self.bar is None:
            return
        now = time.monotonic()
        if not force and now - self.last < REFRESH:
            return
        self.last = now
        done = batch.completed + batch.failed + batch.skipped
        elapsed = now - self.start
        rate = f"{(batch.completed + batch.failed) / elapsed:.1f}" if elapsed > 0 else "--"
        self.bar.update(self.task, completed=done, failed=batch.failed, rate=rate,
                        slots=f"{batch.in_flight}/{batch.limiter.slots}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def summary(self, batch: Any, where: str | None) -> None:
        """One line, unless -q: what happened to the rows, how long it took."""
        elapsed = time.monotonic() - self.start
        sent = batch.completed + batch.failed
        parts = [f"{batch.completed} completed", f"{batch.failed} failed"]
        if batch.skipped:
            parts.append(f"{batch.skipped} skipped (already completed in {where})")
        rate = f", {sent / elapsed:.1f} rows/s" if elapsed > 0 and sent else ""
        self.console.note(f"batch: {', '.join(parts)} in {human_duration(elapsed)}{rate}")
