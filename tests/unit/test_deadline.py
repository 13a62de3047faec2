"""The one deadline type: a call's own budget never outlives the invocation's deadline."""

import math
import time

import pytest

from functions.runtime.deadline import NEVER, Deadline, DeadlineReached, within


def test_a_budget_is_capped_by_the_deadline_and_the_deadline_by_the_budget():
    soon = Deadline.after(10.0)
    assert soon.at_most(60.0) == soon  # the invocation ends first
    tighter = soon.at_most(2.0)
    assert tighter.at < soon.at and 1.0 < tighter.remaining() <= 2.0
    assert NEVER.at_most(3.0).at < math.inf


def test_a_passed_deadline_says_so_and_leaves_no_time():
    gone = Deadline.after(-1.0)
    assert gone.passed and gone.remaining() == 0.0 and gone.cap(5.0) == 0.0
    assert not Deadline.after(30.0).passed


def test_a_call_past_its_deadline_is_abandoned_not_waited_for():
    started = time.monotonic()
    with pytest.raises(DeadlineReached):
        within(Deadline.after(0.2), time.sleep, 5.0)
    assert time.monotonic() - started < 2.0
    assert within(NEVER, lambda: 7) == 7


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def test_the_lambda_context_gives_its_remaining_time_less_the_margin():
    deadline = Deadline.of(_Context(), margin_s=3.0)
    assert 6.0 < deadline.remaining() <= 7.0
    assert Deadline.of(object(), margin_s=3.0) is NEVER  # a plain call has no clock


def test_abandoned_calls_never_hold_up_the_next_one():
    """Forty calls to a dependency that never answers, each abandoned at its deadline, then a
    call to a healthy one: it answers at once (a shared pool of 16 workers was full by now)."""
    import threading

    stuck = threading.Event()
    try:
        for _ in range(40):
            with pytest.raises(DeadlineReached):
                within(Deadline.after(0.01), stuck.wait)
        started = time.monotonic()
        assert within(Deadline.after(1.0), lambda: "answered") == "answered"
        assert time.monotonic() - started < 0.5
    finally:
        stuck.set()  # the abandoned calls end with the test
