"""The response cache's protocol for one invocation: look up, claim, wait on another invocation's
claim, then store the answer or release the claim. A claim taken inside ``claims()`` is released
on every path (settled, left unsettled, or an exception). The cache only saves work: a failed or
slow call is counted and logged, never a failed summary; and it costs an invocation at most one
timeout: after a failed call the invocation asks it nothing more (``begin`` starts one), and after
``cache_breaker_failures`` errors in a row, or one call past its bound, the container's breaker
skips it for ``cache_breaker_reset_s``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pybreaker
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from functions.cache.key import stand_in_key
from functions.cache.store import CacheError, ResponseCache
from functions.config import Settings
from functions.pipeline.outcome import LogSink, MetricSink, Outcome, elapsed_ms
from functions.runtime.deadline import NEVER, Deadline, DeadlineReached, within
from functions.schemas import NewsItem, SummaryResult, Timings


@dataclass
class CacheSteps:
    cache: ResponseCache
    settings: Settings
    metrics: MetricSink
    logger: LogSink
    broken: bool = False  # a call of this invocation failed: the rest of it goes without the cache
    breaker: pybreaker.CircuitBreaker = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.breaker = pybreaker.CircuitBreaker(s.cache_breaker_failures, s.cache_breaker_reset_s)

    def begin(self) -> None:
        """A new invocation: the cache is asked again (unless the container's breaker is open)."""
        self.broken = False

    def bound(self, deadline: Deadline) -> Deadline:
        """One call of the cache (or the story index beside it) takes at most cache_timeout_s."""
        return deadline.at_most(self.settings.cache_timeout_s)

    def call(self, deadline: Deadline, fn, *args):
        """``fn(*args)`` within ``deadline`` and the cache's call bound, through the breaker; a
        broken invocation or an open circuit refuses at once, costing no time."""
        self._refuse_if_broken()
        try:
            return self.breaker.call(within, self.bound(deadline), fn, *args)
        except pybreaker.CircuitBreakerError:
            raise CacheError("the cache's circuit is open") from None
        except DeadlineReached:
            # a cache that did not answer in its bound is slow, not flaky: the next invocations
            # would each pay the same bound, so the container skips it at once until the reset
            self.breaker.open()
            raise

    def lookup(self, key: str, deadline: Deadline = NEVER) -> SummaryResult | None:
        try:
            return self._as_result("get", key, self.call(deadline, self.cache.get, key))
        except (CacheError, DeadlineReached) as exc:  # a broken or slow cache must not stop summaries
            self.failed("get", key, exc)
            return None

    def hit(self, cached: SummaryResult, item: NewsItem, start: float) -> SummaryResult:
        self.metrics.add_metric("CacheHit", MetricUnit.Count, 1)
        update = {"id": item.id, "cache_hit": True, "route": "cache", "timings": Timings(total_ms=elapsed_ms(start))}
        return cached.model_copy(update=update)

    def wait(self, key: str, deadline: Deadline) -> SummaryResult | None:
        """Another invocation's answer for a key it claimed; None when it did not come in time."""
        try:
            self._refuse_if_broken()
            timeout = deadline.cap(self.settings.claim_wait_s)  # waiting is not slowness: no call bound
            found = within(deadline, self.cache.wait, key, timeout, self.settings.claim_poll_s)
            return self._as_result("wait", key, found)
        except (CacheError, DeadlineReached) as exc:  # hand the item back rather than fail the batch
            self.failed("wait", key, exc)
            return None

    @contextmanager
    def claims(self, grace: Deadline) -> Iterator[Claims]:
        held = Claims(self, grace)
        try:
            yield held
        finally:  # whatever went wrong, no claim may outlive this invocation
            for key in sorted(held.keys):
                self._release(key, grace)

    def store(self, key: str, outcome: Outcome, deadline: Deadline) -> Outcome:
        """The model's answer under its key; a stand-in beside it (``stand_in_key``), so that a
        client polling a 202's location gets the lead it was given instead of 404 for ever."""
        if not isinstance(outcome, SummaryResult):
            self._release(key, deadline)  # no answer: let a retry claim again
            return outcome
        if outcome.fallback:
            self._release(key, deadline)  # not the model's answer: a retry may claim and do better
            key = stand_in_key(key)
        try:
            self.call(deadline, self.cache.put, key, outcome.model_dump(mode="json"))
        except (CacheError, DeadlineReached) as exc:
            self.failed("put", key, exc)
        return outcome

    def answer(self, key: str) -> SummaryResult | None:
        """What ``GET /summaries/{key}`` serves: the model's answer, else the last stand-in."""
        return self.lookup(key) or self.lookup(stand_in_key(key))

    def failed(self, op: str, key: str, exc: Exception, fault: bool = True) -> None:
        """``fault``: the cache itself failed (the invocation stops asking it); an entry of the
        wrong shape is only that entry's miss."""
        if not self.broken:  # the first failure of an invocation is worth a line; the skips after it are not
            self.logger.warning("cache %s failed", op, extra={"cache_key": key[:16], "error": str(exc)})
        self.broken = self.broken or fault
        self.metrics.add_metric("CacheError", MetricUnit.Count, 1)

    def _refuse_if_broken(self) -> None:
        if self.broken:
            raise CacheError("the cache failed earlier in this invocation")

    def _release(self, key: str, deadline: Deadline) -> None:
        try:
            self.call(deadline, self.cache.release, key)
        except (CacheError, DeadlineReached) as exc:
            self.failed("release", key, exc)

    def _as_result(self, op: str, key: str, value: dict | None) -> SummaryResult | None:
        """A cached entry as a SummaryResult, validated once; an entry of another shape is a miss."""
        if value is None:
            return None
        try:
            return SummaryResult.model_validate(value)
        except ValidationError:
            self.failed(op, key, CacheError(f"cache entry {key[:12]} is not a summary"), fault=False)
            return None


@dataclass
class Claims:
    """The keys this invocation holds: each is settled (stored or released) or released at exit."""

    steps: CacheSteps
    grace: Deadline
    keys: set[str] = field(default_factory=set)

    def take(self, key: str, deadline: Deadline) -> bool:
        """True: this invocation runs the model for ``key``; False: another one holds it."""
        # a claimant cannot work past its invocation's grace, so its claim lapses then: a container
        # killed mid-invocation blocks the item's redelivery one timeout, not claim_ttl_s
        ttl = self.grace.cap(self.steps.settings.claim_ttl_s)
        try:
            ours = self.steps.call(deadline, self.steps.cache.claim, key, ttl)
        except (CacheError, DeadlineReached) as exc:
            self.steps.failed("claim", key, exc)
            ours = True  # no dedup without a cache, but the item is still summarized
        if ours:
            self.keys.add(key)
        return ours

    def settle(self, key: str, outcome: Outcome) -> Outcome:
        self.keys.discard(key)
        return self.steps.store(key, outcome, self.grace)
