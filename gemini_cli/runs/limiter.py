"""Adaptive concurrency for `batch`: how many requests may be in flight (AIMD), and what
a 429 does to it.

Additive increase, multiplicative decrease, as TCP does: every answer raises the limit by
1/limit (about one more slot per round of answers), every 429 halves it (never below 1,
never above -j). Only one halving per round: a 429 for a request sent before the last
halving is already accounted for. A wait the server asks for (RetryInfo.retryDelay in the
body, Retry-After in the headers) pauses all sending until it has passed.
"""

from __future__ import annotations

import time
from typing import Callable



class Limiter:
    def __init__(self, maximum: int, clock: Callable[[], float] = time.monotonic):
        self.maximum = max(int(maximum), 1)
        self.limit = float(self.maximum)
        self.epoch = 0  # bumped by each halving; a request remembers the epoch it was sent in
        self.paused_until = 0.0
        self.clock = clock

    @property
    def slots(self) -> int:
        """Requests that may be in flight now."""
        return max(int(self.limit), 1)

    def pause_left(self) -> float:
        return max(self.paused_until - self.clock(), 0.0)

    def answered(self) -> None:
        """An answer came back (any answer but a 429): one step up."""
        self.limit = min(self.limit + 1.0 / self.limit, float(self.maximum))

    def throttled(self, epoch: int, wait: float | None = None) -> bool:
        """A 429 for a request sent in `epoch`; `wait` is the server's hint. True when the
        limit was lowered (the first 429 of its round)."""
        if wait is not None and wait > 0:
            self.paused_until = max(self.paused_until, self.clock() + wait)
        if epoch < self.epoch:
            return False
        self.limit = max(self.limit / 2, 1.0)
        self.epoch += 1
        return True
