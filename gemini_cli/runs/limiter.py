"""Adaptive concurrency for `batch`: how many requests may be in flight (AIMD), and what
a 429 does to it.

Additive increase, multiplicative decrease, as TCP does: every answer raises the limit by
1/limit (about one more slot per round of answers; past the level of the last 429, one
slot per `limit` rounds, so a steady limit is probed rarely), a 429 halves it, but not below
the most requests in flight that were answered since the last decrease (never below 1,
never above -j). Only one decrease per round trip: a 429 for a request sent before the last
decrease is already accounted for.

A wait the server asks for (RetryInfo.retryDelay in the body, Retry-After in the headers)
delays the refused request only (batch.py retries that row after it) while the window still
has room to shrink: a 429 above a concurrency limit says "fewer at once", and pausing every
request for it (as this did before) cut a limit of 3 at 200 ms from 15 rows/s to 4. Once the
window is down to one request and that is refused too, the server means "nothing for a
while" (a quota): then the wait pauses all sending.
"""

from __future__ import annotations

import time
from typing import Callable


class Limiter:
    def __init__(self, maximum: int, clock: Callable[[], float] = time.monotonic):
        self.maximum = max(int(maximum), 1)
        self.limit = float(self.maximum)
        self.epoch = 0  # bumped by each decrease; a request remembers the epoch it was sent in
        self.good = 0  # the most in flight among answers since the last decrease
        self.refused_at = float("inf")  # the limit at the last decrease
        self.paused_until = 0.0
        self.clock = clock

    @property
    def slots(self) -> int:
        """Requests that may be in flight now."""
        return max(int(self.limit), 1)

    def pause_left(self) -> float:
        return max(self.paused_until - self.clock(), 0.0)

    def answered(self, sent_with: int = 0) -> None:
        """An answer came back (any answer but a 429) for a request sent when `sent_with`
        requests (itself included) were in flight: one step up."""
        self.good = max(self.good, sent_with)
        # Up to where the last 429 came: one slot per round trip; beyond: one per `limit`
        # round trips, so a steady limit is probed (and a row refused) rarely.
        step = 1.0 / self.limit if self.limit + 1 < self.refused_at else 1.0 / (self.limit * self.limit)
        self.limit = min(self.limit + step, float(self.maximum))

    def throttled(self, epoch: int, wait: float | None = None) -> bool:
        """A 429 for a request sent in `epoch`; `wait` is the server's hint. True when the
        limit was lowered (the first 429 of its round trip).

        The limit halves, but not below the most requests in flight that were answered since
        the last decrease: at a concurrency limit of 3, a probe at 4 goes back to 3, not 2."""
        if epoch < self.epoch:
            return False
        if self.limit <= 1.0 and wait is not None and wait > 0:  # one at a time, still refused
            self.paused_until = max(self.paused_until, self.clock() + wait)
        self.refused_at = self.limit
        self.limit = max(min(max(self.limit / 2, float(self.good)), self.limit - 1), 1.0)
        self.good = 0
        self.epoch += 1
        return True

    @property
    def pausing(self) -> bool:
        """Whether the last 429 paused all sending (not just its own row)."""
        return self.pause_left() > 0
