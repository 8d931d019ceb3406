"""Waiting between attempts: exponential backoff with jitter, bounded by a wall-clock deadline.

One helper for every retry and polling loop (a request, upload chunks, waiting for a file to
be ACTIVE, resuming a stream, polling a background interaction, waiting for a lock). No I/O
but the sleep, and nothing heavy imported: the lock wait uses it on the start-up path.

Two ways to meet the deadline:
- a retry whose wait does not fit in what is left gives up now (waiting would only end in
  the same error, later);
- a poll (``fit=True``) shortens its last wait to end at the deadline and looks once more.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a Protocol class costs import time; only type checkers need it
    from typing import Protocol

    class Remaining(Protocol):
        def remaining(self) -> float | None: ...


# select(), sleep(), lock and socket timeouts overflow (OverflowError) past about 9.2e9 s: a wait
# longer than a year (`--max-time 1e10`: "no deadline" in practice) is cut to this, and looped
# where the wait must go on.
MAX_WAIT = 365 * 86400.0


def capped(seconds: float) -> float:
    """`seconds` as a wait the OS accepts (at most MAX_WAIT)."""
    return min(seconds, MAX_WAIT)


class Deadline:
    """A point in time (time.monotonic) that may be None: no deadline."""

    __slots__ = ("at", "_clock")

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.at = None if seconds is None else clock() + seconds

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - self._clock()

    def expired(self) -> bool:
        return self.at is not None and self._clock() >= self.at

    def __repr__(self) -> str:
        return f"Deadline(remaining={self.remaining()})"


class Soonest:
    """The earliest of several deadlines (any with `remaining()`; None is no deadline)."""

    def __init__(self, *deadlines: Remaining):
        self.deadlines = deadlines

    def remaining(self) -> float | None:
        left = [r for r in (d.remaining() for d in self.deadlines) if r is not None]
        return min(left) if left else None


def backoff(attempt: int, first: float, cap: float, jitter: float = 0.25, factor: float = 2.0) -> float:
    """first * factor**attempt, less up to `jitter` of it (as the official SDK does), at most `cap`."""
    nominal = first * factor ** min(attempt, 64)
    if jitter:
        nominal *= 1 - random.uniform(0, jitter)
    return min(nominal, cap)


class Backoff:
    """The waits of one loop: `next()` gives the next wait or None to give up; `sleep()` waits.

    `retries` bounds the waits (None: unbounded, the deadline decides); `reset()` starts the
    count again (the upload does after every chunk the server accepts). With `factor` 1 and
    `jitter` 0 the waits are a fixed interval (polling).
    """

    def __init__(
        self,
        *,
        first: float,
        cap: float,
        retries: int | None = None,
        deadline: Remaining | None = None,
        factor: float = 2.0,
        jitter: float = 0.25,
        fit: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.first, self.cap, self.retries = first, cap, retries
        self.deadline = deadline
        self.factor, self.jitter, self.fit = factor, jitter, fit
        self.attempt = 0  # waits so far (since the last reset)
        self._sleep = sleep

    def delay(self) -> float:
        """The backoff for the next wait, before the deadline is considered."""
        return backoff(self.attempt, self.first, self.cap, self.jitter, self.factor)

    def next(self, wait: float | None = None) -> float | None:
        """The next wait (`wait` when the server named one, else the backoff), or None to give up:
        the retries are spent, the deadline has passed, or the wait does not fit before it
        (with `fit`, the wait is shortened to end at the deadline instead)."""
        if self.retries is not None and self.attempt >= self.retries:
            return None
        delay = self.delay() if wait is None else wait
        left = None if self.deadline is None else self.deadline.remaining()
        if left is None:
            return delay
        if left <= 0:
            return None
        if delay >= left:
            return left if self.fit else None
        return delay

    def sleep(self, delay: float) -> None:
        self.attempt += 1
        self._sleep(delay)

    def reset(self) -> None:
        self.attempt = 0
