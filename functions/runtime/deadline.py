"""One deadline per invocation, from Lambda's remaining time less a safety margin (or, on the
GPU endpoint, per request from its own limit): the one type for "time is up at".

Every remote call and every wait in an invocation fits inside it, so an item that cannot
finish in time ends as its own outcome (the fallback, or a failure for that record alone)
instead of the whole invocation timing out and every item in it being retried.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class DeadlineReached(TimeoutError):
    """A remote call did not finish before the deadline; the caller has moved on without it."""


@dataclass(frozen=True)
class Deadline:
    at: float  # time.monotonic() when the time is up

    @classmethod
    def of(cls, context, margin_s: float) -> Deadline:
        """From a Lambda context; no deadline where the context has no clock (plain function calls)."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if remaining is None:
            return NEVER
        return cls(time.monotonic() + remaining() / 1000 - margin_s)

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def at_most(self, seconds: float) -> Deadline:
        """This deadline, or ``seconds`` from now when that comes first (a call's own budget)."""
        return Deadline(min(self.at, time.monotonic() + seconds))

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def cap(self, seconds: float) -> float:
        """``seconds``, or less when the deadline comes first."""
        return min(seconds, self.remaining())

    def later(self, seconds: float) -> Deadline:
        return Deadline(self.at + seconds)


NEVER = Deadline(math.inf)


# Each remote call runs on a thread of its own, so that the caller waits no longer than its
# deadline, whatever the client library does: urllib3's and botocore's read timeouts are per
# read, so a server trickling a byte a second holds a call open far past them. An abandoned call
# holds only its own thread until its own (bounded) timeouts; it never holds a worker that the
# next call needs (a shared pool of 16 was filled by abandoned calls to a trickling endpoint in
# 3-5 invocations, and every call after them waited out its deadline: issue 22). Hand-written: no
# library bounds a blocking call's total time from the outside.
def within(deadline: Deadline, call: Callable[..., T], *args) -> T:
    """``call(*args)``, waited for until ``deadline``; raises DeadlineReached after that."""
    if deadline.at == math.inf:
        return call(*args)
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(call(*args))
        except BaseException as exc:  # handed to the caller, if it is still waiting
            future.set_exception(exc)

    threading.Thread(target=run, name="bounded-call", daemon=True).start()
    try:
        return future.result(timeout=deadline.remaining())
    except FutureTimeout:
        raise DeadlineReached(f"{getattr(call, '__qualname__', 'call')} did not finish in time") from None
