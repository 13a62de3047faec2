"""One deadline per invocation, from Lambda's remaining time less a safety margin.

Every remote call and every wait in an invocation fits inside it, so an item that cannot
finish in time ends as its own outcome (the fallback, or a failure for that record alone)
instead of the whole invocation timing out and every item in it being retried.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


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

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def cap(self, seconds: float) -> float:
        """``seconds``, or less when the deadline comes first."""
        return min(seconds, self.remaining())


NEVER = Deadline(math.inf)
