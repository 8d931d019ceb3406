"""gemini_cli/backoff.py: the waits of every retry and polling loop, against a fake clock."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from gemini_cli.backoff import Backoff, Deadline, Soonest, backoff


class Clock:
    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def no_jitter(monkeypatch):
    monkeypatch.setattr(random, "uniform", lambda low, high: low)


def run(waits: Backoff, clock: Clock, server_waits=()) -> list[float]:
    """Wait until next() gives up; the waits taken."""
    server = list(server_waits)
    while (delay := waits.next(server.pop(0) if server else None)) is not None:
        waits.sleep(delay)
    return clock.slept


def test_exponential_up_to_the_cap_and_the_retry_budget(no_jitter):
    clock = Clock()
    waits = Backoff(first=0.5, cap=4, retries=6, sleep=clock.sleep)
    assert run(waits, clock) == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert waits.attempt == 6


def test_jitter_takes_off_at_most_a_quarter():
    for attempt in range(6):
        for _ in range(100):
            assert 0.75 * min(2**attempt, 100) <= backoff(attempt, 1.0, 100) <= min(2**attempt, 100)
    assert backoff(10_000, 1.0, 8.0) == pytest.approx(8.0, rel=0.25)  # no overflow


def test_a_wait_that_does_not_fit_in_the_deadline_gives_up(no_jitter):
    clock = Clock()
    waits = Backoff(first=1, cap=100, retries=None, deadline=Deadline(10, clock), sleep=clock.sleep)
    assert run(waits, clock) == [1, 2, 4]  # 8 more would end at 15, past 10: give up at 7
    assert clock.now == 107


def test_a_poll_shortens_its_last_wait_to_end_at_the_deadline(no_jitter):
    clock = Clock()
    waits = Backoff(first=1, cap=100, deadline=Deadline(10, clock), fit=True, sleep=clock.sleep)
    assert run(waits, clock) == [1, 2, 4, 3]
    assert clock.now == 110


def test_a_fixed_interval(no_jitter):
    clock = Clock()
    waits = Backoff(first=0.3, cap=0.3, factor=1, jitter=0, deadline=Deadline(1, clock), sleep=clock.sleep)
    assert run(waits, clock) == [0.3, 0.3, 0.3]


def test_the_server_named_wait_is_used_and_bounded_by_the_deadline_too(no_jitter):
    clock = Clock()
    waits = Backoff(first=1, cap=8, retries=5, deadline=Deadline(30, clock), sleep=clock.sleep)
    assert run(waits, clock, server_waits=[5, 20, 10]) == [5, 20]  # 10 more would end at 35


def test_no_wait_once_the_deadline_has_passed():
    clock = Clock()
    deadline = Deadline(0, clock)
    assert deadline.expired()
    assert Backoff(first=1, cap=1, deadline=deadline, fit=True).next() is None
    assert Backoff(first=1, cap=1, retries=0).next() is None


def test_reset_starts_the_budget_again(no_jitter):
    clock = Clock()
    waits = Backoff(first=1, cap=8, retries=2, sleep=clock.sleep)
    waits.sleep(waits.next())
    waits.sleep(waits.next())
    assert waits.next() is None
    waits.reset()
    assert waits.next() == 1


def test_soonest_of_several_deadlines():
    clock = Clock()
    assert Soonest(Deadline(None, clock), Deadline(5, clock), Deadline(3, clock)).remaining() == 3
    assert Soonest(Deadline(None, clock)).remaining() is None


def test_importing_it_imports_no_http_library():
    code = "import sys, gemini_cli.backoff; print(sorted(m for m in ('httpx', 'httpcore', 'h11') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"
