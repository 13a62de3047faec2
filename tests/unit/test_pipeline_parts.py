"""The pipeline's parts, each on its own: the claim protocol on a real folder cache, the flagged
policy's verdicts, the fallback policy, and notification."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from functions.cache.store import CacheError, FolderCache
from functions.config import Settings
from functions.pipeline.claims import CacheSteps
from functions.pipeline.delivery import Delivery
from functions.pipeline.fallback import FallbackPolicy
from functions.pipeline.outcome import ItemFailure
from functions.pipeline.route import judge
from functions.runtime.deadline import NEVER
from functions.runtime.escalation_rule import decide
from functions.runtime.guard import GuardReport
from functions.runtime.kv_generate import Generation
from functions.runtime.summarize import Summary
from functions.schemas import NewsItem, StoryRef, SummaryResult
from tests.factories import news_item

LOG = logging.getLogger("test")


class Counted:
    """The metric sink: what each part counted, by name."""

    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def add_metric(self, name: str, unit: MetricUnit, value: float) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


def _steps(tmp_path) -> CacheSteps:
    return CacheSteps(FolderCache(tmp_path / "cache"), Settings(), Counted(), LOG)


def _result(item_id: str = "a", **changes) -> SummaryResult:
    fields = {"summary": "Forty homes burned.", "model_version": "v1", "route": "local"} | changes
    return SummaryResult(id=item_id, **fields)


def test_a_claim_is_released_when_the_block_raises(tmp_path):
    steps = _steps(tmp_path)
    with pytest.raises(RuntimeError), steps.claims(NEVER) as claims:
        assert claims.take("k1", NEVER)
        raise RuntimeError("the model crashed")
    other = _steps(tmp_path)  # another invocation can claim the key at once
    with other.claims(NEVER) as claims:
        assert claims.take("k1", NEVER)


def test_a_settled_answer_is_stored_and_an_unsettled_claim_released(tmp_path):
    steps = _steps(tmp_path)
    with steps.claims(NEVER) as claims:
        assert claims.take("answered", NEVER) and claims.take("abandoned", NEVER)
        rival = _steps(tmp_path).claims(NEVER)
        with rival as theirs:
            assert not theirs.take("answered", NEVER)  # held by the first invocation
        claims.settle("answered", _result())
    assert steps.lookup("answered").summary == "Forty homes burned."
    with _steps(tmp_path).claims(NEVER) as claims:
        assert claims.take("abandoned", NEVER)  # released at exit


def test_a_fallback_is_never_cached_but_answers_the_poll_and_its_claim_is_released(tmp_path):
    steps = _steps(tmp_path)
    with steps.claims(NEVER) as claims:
        claims.take("k", NEVER)
        claims.settle("k", _result(fallback=True, route="fallback"))
    assert steps.lookup("k") is None  # never served as a cache hit
    assert steps.answer("k").fallback  # GET /summaries/{key} gets the lead it was given
    with _steps(tmp_path).claims(NEVER) as claims:
        assert claims.take("k", NEVER)
        claims.settle("k", _result())  # a retry that did better
    assert not steps.answer("k").fallback


def test_an_unreadable_cache_entry_is_a_miss_and_counted(tmp_path):
    steps = _steps(tmp_path)
    (tmp_path / "cache" / "bad.json").write_text('{"not": "a summary"}')
    assert steps.lookup("bad") is None
    assert steps.metrics.counts["CacheError"] == 1
    assert not steps.broken  # one bad entry is that entry's miss, not a broken cache


class BrokenCache(FolderCache):
    """A bucket that fails every call, counting them."""

    def __init__(self, folder) -> None:
        super().__init__(folder)
        self.calls = 0

    def get(self, key):
        self.calls += 1
        raise CacheError("bucket unreachable")

    claim = put = release = get


def test_a_failed_cache_costs_an_invocation_one_call_and_the_breaker_spares_the_next(tmp_path):
    cache = BrokenCache(tmp_path / "cache")
    steps = CacheSteps(cache, Settings(cache_breaker_failures=2), Counted(), LOG)
    steps.begin()
    assert steps.lookup("k") is None and steps.broken
    with steps.claims(NEVER) as claims:
        assert claims.take("k", NEVER)  # summarized all the same, without asking the cache again
        claims.settle("k", _result())
    assert cache.calls == 1
    steps.begin()  # the next invocation tries once more: the second failure in a row opens the circuit
    assert steps.lookup("k") is None and cache.calls == 2
    steps.begin()
    assert steps.lookup("k") is None and cache.calls == 2  # open: not asked at all
    assert steps.breaker.current_state == "open"


def _summary(logprob: float = -0.1, claims=(), degenerate=None) -> Summary:
    gen = Generation([5, 6], 10, 0.1, 0.1, "eos", [logprob, logprob])
    return Summary("text.", gen, GuardReport(list(claims), degenerate), decide(10, 8, 100))


@pytest.mark.parametrize(
    ("summary", "policy", "stands", "cascade"),
    [
        (_summary(), "deliver", "deliver", None),
        (_summary(claims=["Sydney"]), "deliver", "deliver", None),  # delivered, flagged
        (_summary(claims=["Sydney"]), "lead", "lead", None),
        (_summary(claims=["Sydney"]), "escalate", "deliver", "flagged"),  # the student's stands in
        (_summary(degenerate="repetition"), "deliver", "degenerate", None),
        (_summary(degenerate="repetition"), "escalate", "degenerate", "degenerate"),
        (_summary(logprob=-3.0), "escalate", "deliver", "low_confidence"),
        (_summary(logprob=-3.0), "deliver", "deliver", None),
    ],
)
def test_the_flagged_policy_decides_what_stands_and_what_the_teacher_redoes(summary, policy, stands, cascade):
    verdict = judge(summary, policy, threshold=-1.0)
    assert (verdict.stands, verdict.cascade) == (stands, cascade)


def test_the_fail_mode_fails_an_item_but_never_a_replaced_flagged_summary():
    item = NewsItem.model_validate(news_item())
    fail = FallbackPolicy("fail", Counted(), LOG)
    assert isinstance(fail(item, "endpoint down", 0.0, retryable=True), ItemFailure)
    replaced = fail(item, "flagged", 0.0, replaces_flagged=True)
    assert replaced.route == "fallback" and replaced.summary and replaced.model_version == "lead-3"
    assert all(e.sources for e in replaced.evidence)  # the lead's own facts are in the article


class Outbox:
    def __init__(self, broken: bool = False) -> None:
        self.sent, self.broken = [], broken

    def send(self, ready) -> None:
        if self.broken:
            raise ConnectionError("SNS is down")
        self.sent.append(ready)


def _direct(deadline, fn, *args):
    return fn(*args)


@pytest.mark.parametrize(("notify", "sent"), [("updates", 0), ("all", 1)])
def test_a_reused_story_summary_notifies_only_when_asked(notify, sent):
    outbox, metrics = Outbox(), Counted()
    item = NewsItem.model_validate(news_item())
    reused = _result(item.id, route="story", story=StoryRef(id="s1", version=1))
    assert Delivery(outbox, None, notify, metrics, LOG, _direct)(item, reused, NEVER) == reused
    assert len(outbox.sent) == sent and metrics.counts["Summarized"] == 1


def test_a_failed_notification_hands_the_item_back_for_a_retry():
    item = NewsItem.model_validate(news_item())
    outcome = Delivery(Outbox(broken=True), None, "updates", Counted(), LOG, _direct)(item, _result(item.id), NEVER)
    assert isinstance(outcome, ItemFailure) and outcome.retryable and "ConnectionError" in outcome.reason


class StuckDesk:
    """A desk feed in a bucket that never answers."""

    def record(self, item, ready):
        time.sleep(60)


def test_the_desk_record_shares_the_caches_fate_and_never_waits_out_the_deadline(tmp_path):
    steps, metrics, outbox = _steps(tmp_path), Counted(), Outbox()
    steps.broken = True  # the bucket failed earlier in this invocation
    item = NewsItem.model_validate(news_item())
    started = time.monotonic()
    outcome = Delivery(outbox, StuckDesk(), "updates", metrics, LOG, steps.call)(item, _result(item.id), NEVER)
    assert time.monotonic() - started < 1.0 and outcome.summary  # delivered; the desk's record skipped
    assert len(outbox.sent) == 1 and metrics.counts["DeskRecordFailed"] == 1


def test_one_cache_call_past_its_bound_opens_the_circuit_at_once(tmp_path):
    never = threading.Event()

    class SilentCache(FolderCache):
        calls = 0

        def get(self, key):
            SilentCache.calls += 1
            never.wait(5)  # a bucket that does not answer

    steps = CacheSteps(SilentCache(tmp_path / "cache"), Settings(cache_timeout_s=0.05), Counted(), LOG)
    steps.begin()
    assert steps.lookup("k") is None and steps.breaker.current_state == "open"
    steps.begin()
    assert steps.lookup("k") is None and SilentCache.calls == 1  # the next invocation pays nothing
    never.set()
