"""The summarize pipeline, one way: cache lookup -> story lookup -> route -> generate -> guard ->
story record -> cache write -> notify.

Every item comes out as a SummaryResult or an ItemFailure; the handlers turn failures into
their trigger's retry signal or a dead letter, so nothing is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from functions.cache.key import ModelFingerprint, cache_key
from functions.cache.store import CacheError, ResponseCache
from functions.config import Settings
from functions.desk.feed import DeskFeed
from functions.escalation.client import EndpointClient, EndpointLate, EndpointUnavailable
from functions.notify import Notifier
from functions.runtime.cascade import LOW_CONFIDENCE, needs_teacher
from functions.runtime.deadline import NEVER, Deadline, DeadlineReached, within
from functions.runtime.escalation_rule import RouteDecision
from functions.runtime.extractive import lead
from functions.runtime.grounding import Grounding
from functions.runtime.guard import check
from functions.runtime.pool import Checkout
from functions.runtime.prompt import Format
from functions.runtime.summarize import NeedsEscalation, Summarizer, Summary
from functions.schemas import Faithfulness, NewsItem, StoryRef, SummaryReady, SummaryResult, Timings, evidence_of
from functions.stories.index import Match, StoryIndex
from functions.stories.reuse import fact_changes, still_holds
from functions.summary_result import summary_result

FALLBACK_MODEL = "lead-3"
OVER_BUDGET = "over_budget"
# after the deadline, what is done is still written down (cache, notification) for this long;
# the deadline margin (NEWSBURST_DEADLINE_MARGIN_S, 3 s) leaves room for it before Lambda's timeout
GRACE_S = 2.0


@dataclass(frozen=True)
class ItemFailure:
    item_id: str
    reason: str
    retryable: bool  # True: hand it back for a retry; False: retrying cannot help (dead-letter it)
    late: bool = False  # the invocation's deadline came first (the HTTP API answers 202 and hands it on)


Outcome = SummaryResult | ItemFailure


class MetricSink(Protocol):
    def add_metric(self, name: str, unit: MetricUnit, value: float) -> None: ...


class LogSink(Protocol):
    def info(self, msg: str, *args, **kwargs) -> None: ...
    def warning(self, msg: str, *args, **kwargs) -> None: ...


Engine = Callable[[], tuple[Summarizer, Checkout]]  # the warm pool's summarizer for this container


@dataclass
class Pipeline:
    settings: Settings
    cache: ResponseCache
    engine: Engine
    fingerprint: ModelFingerprint
    escalator: EndpointClient | None
    notifier: Notifier
    metrics: MetricSink
    logger: LogSink
    desk: DeskFeed | None = None  # where the editors' desk reads delivered stories from
    stories: StoryIndex | None = None  # near-duplicates: which story an item belongs to
    cache_failures: int = field(default=0, init=False)  # cache calls that failed in this container

    def key_for(self, item: NewsItem) -> str:
        """The response cache key this deployment files ``item``'s summary under."""
        item = item.settled(self.settings)
        return cache_key(self.fingerprint, item.body, item.grounding, self.settings.flagged_policy, item.format)

    def lookup(self, key: str) -> SummaryResult | None:
        """A cached summary by key (``GET /summaries/{key}``); None when absent or unreadable."""
        return self._lookup(key)

    def run(self, items: Sequence[NewsItem], deadline: Deadline = NEVER) -> list[Outcome]:
        """``deadline``: every remote call and wait ends by then; what cannot is its item's own outcome."""
        start = time.perf_counter()
        items = [item.settled(self.settings) for item in items]  # from here on, every item says both
        grace = deadline.later(GRACE_S)  # for writing down what is done: cache, release, notify
        keys = [self.key_for(item) for item in items]
        out: list[Outcome | None] = [None] * len(items)
        owner_of: dict[str, int] = {}  # key -> the index in this batch that runs the model for it
        todo: list[int] = []
        elsewhere: list[int] = []  # claimed by another invocation: wait for its result
        matches: dict[int, Match] = {}  # the story each item belongs to (latest None: a new one)
        failures = self.cache_failures
        # the story index lives in the cache's bucket: once a cache call of this invocation failed
        # (a slow or broken bucket), the index is not asked either, on the invocation's time
        cache_ok = lambda: self.cache_failures == failures  # noqa: E731
        for i, key in enumerate(keys):
            if key in owner_of:
                continue  # a duplicate within the batch copies its owner's outcome below
            if (hit := self._lookup(key, deadline)) is not None:
                out[i] = self._hit(hit, items[i], start)
                continue
            self.metrics.add_metric("CacheMiss", MetricUnit.Count, 1)
            if cache_ok() and (match := self._match(items[i], deadline)) is not None:
                matches[i] = match
                if (reused := self._reuse(items[i], match, start)) is not None:
                    out[i] = reused
                    continue
            owner_of[key] = i
            (todo if self._claim(key, deadline) else elsewhere).append(i)

        try:
            generated = self._generate([items[i] for i in todo], start, deadline)
        except BaseException:  # whatever went wrong, no claim may outlive this invocation
            for i in todo:
                self._release(keys[i], grace)
            raise
        for i, outcome in zip(todo, generated, strict=True):
            if i in matches and cache_ok():
                outcome = self._record_story(items[i], matches[i], outcome, grace)
            out[i] = self._store(keys[i], outcome, grace)
        for i in elsewhere:
            cached = self._wait(keys[i], deadline)
            out[i] = (
                self._hit(cached, items[i], start)
                if cached is not None
                else ItemFailure(items[i].id, "being summarized by another invocation; retry later", True)
            )
        for i, key in enumerate(keys):
            if out[i] is None:  # an in-batch duplicate
                owner = out[owner_of[key]]
                out[i] = (
                    owner.model_copy(update={"id": items[i].id, "cache_hit": True, "route": "cache"})
                    if isinstance(owner, SummaryResult)
                    else ItemFailure(items[i].id, owner.reason, owner.retryable)
                )
        billed = round((time.perf_counter() - start) * 1000 / len(items), 2) if items else 0.0
        out = [o.model_copy(update={"billed_ms": billed}) if isinstance(o, SummaryResult) else o for o in out]
        return [self._notify(item, outcome, grace) for item, outcome in zip(items, out, strict=True)]

    # -- cache ------------------------------------------------------------------------------
    def _cache_bound(self, deadline: Deadline) -> Deadline:
        """The cache is an optimisation: one call of it may take at most cache_timeout_s."""
        return deadline.at_most(self.settings.cache_timeout_s)

    def _lookup(self, key: str, deadline: Deadline = NEVER) -> SummaryResult | None:
        try:
            return self._as_result("get", key, within(self._cache_bound(deadline), self.cache.get, key))
        except (CacheError, DeadlineReached) as exc:  # a broken or slow cache must not stop summaries
            self._cache_failed("get", key, exc)
            return None

    def _as_result(self, op: str, key: str, value: dict | None) -> SummaryResult | None:
        """A cached entry as a SummaryResult, validated once; an entry of another shape is a miss."""
        if value is None:
            return None
        try:
            return SummaryResult.model_validate(value)
        except ValidationError:
            self._cache_failed(op, key, CacheError(f"cache entry {key[:12]} is not a summary"))
            return None

    def _claim(self, key: str, deadline: Deadline) -> bool:
        try:
            return within(self._cache_bound(deadline), self.cache.claim, key, self.settings.claim_ttl_s)
        except (CacheError, DeadlineReached) as exc:
            self._cache_failed("claim", key, exc)
            return True  # no dedup without a cache, but the item is still summarized

    def _wait(self, key: str, deadline: Deadline) -> SummaryResult | None:
        try:
            timeout = deadline.cap(self.settings.claim_wait_s)
            return self._as_result(
                "wait", key, within(deadline, self.cache.wait, key, timeout, self.settings.claim_poll_s)
            )
        except (CacheError, DeadlineReached) as exc:  # hand the item back rather than fail the batch
            self._cache_failed("wait", key, exc)
            return None

    def _release(self, key: str, deadline: Deadline) -> None:
        try:
            within(self._cache_bound(deadline), self.cache.release, key)
        except (CacheError, DeadlineReached) as exc:
            self._cache_failed("release", key, exc)

    def _store(self, key: str, outcome: Outcome, deadline: Deadline) -> Outcome:
        if not isinstance(outcome, SummaryResult) or outcome.fallback:
            self._release(key, deadline)  # not the model's answer: let a retry claim again
            return outcome
        try:
            within(self._cache_bound(deadline), self.cache.put, key, outcome.model_dump(mode="json"))
        except (CacheError, DeadlineReached) as exc:
            self._cache_failed("put", key, exc)
        return outcome

    def _hit(self, cached: SummaryResult, item: NewsItem, start: float) -> SummaryResult:
        self.metrics.add_metric("CacheHit", MetricUnit.Count, 1)
        return cached.model_copy(
            update={
                "id": item.id,
                "cache_hit": True,
                "route": "cache",
                "timings": Timings(total_ms=round((time.perf_counter() - start) * 1000, 2)),
            }
        )

    def _cache_failed(self, op: str, key: str, exc: Exception) -> None:
        self.cache_failures += 1
        self.logger.warning("cache %s failed", op, extra={"cache_key": key[:16], "error": str(exc)})
        self.metrics.add_metric("CacheError", MetricUnit.Count, 1)

    # -- stories ---------------------------------------------------------------------------------
    def _match(self, item: NewsItem, deadline: Deadline) -> Match | None:
        """The story ``item`` belongs to; None without an index, or when the index cannot answer in
        time (like the cache, it saves work: it never stops a summary)."""
        if self.stories is None:
            return None
        try:
            return within(self._cache_bound(deadline), self.stories.match, item.body)
        except Exception as exc:
            self._story_failed("match", item, exc)
            return None

    def _reuse(self, item: NewsItem, match: Match, start: float) -> SummaryResult | None:
        """The story's latest summary for this copy, when every fact it states is in this article."""
        latest = match.latest
        alike = latest is not None and latest.variant == self._variant(item)
        report = still_holds(latest, item.body, item.format) if alike else None
        if report is None:
            return None
        self.metrics.add_metric("StoryHit", MetricUnit.Count, 1)
        return SummaryResult(
            id=item.id,
            summary=latest.summary,
            model_version=latest.model_version,
            route="story",
            format=latest.format,
            faithfulness=Faithfulness(
                instructions_in_article=report.instructions_in_article,
                flagged=report.flagged,
                grounding=item.grounding,
            ),
            evidence=evidence_of(report),  # against this article: the page shows where this copy states each fact
            story=StoryRef(id=latest.story_id, version=latest.version),
            timings=Timings(total_ms=round((time.perf_counter() - start) * 1000, 2)),
        )

    def _record_story(self, item: NewsItem, match: Match, outcome: Outcome, deadline: Deadline) -> Outcome:
        """A new summary becomes its story's next version (or a new story's first)."""
        if not isinstance(outcome, SummaryResult) or outcome.fallback or not outcome.summary:
            return outcome
        facts = [e.text for e in outcome.evidence]
        try:
            version, previous = within(
                self._cache_bound(deadline),
                self.stories.record,
                match, item.id, outcome.summary, outcome.format, facts, outcome.model_version, self._variant(item),
            )  # fmt: skip
        except Exception as exc:
            self._story_failed("record", item, exc)
            return outcome
        ref = StoryRef(id=version.story_id, version=version.version)
        if previous is not None:  # an update: what it says that the last version did not
            new, gone = fact_changes(previous.facts, facts)
            ref = ref.model_copy(update={"update_of": previous.version, "new_facts": new, "gone_facts": gone})
        return outcome.model_copy(update={"story": ref})

    def _variant(self, item: NewsItem) -> str:
        """Everything but the text that the cache key holds (model, grounding, policy, format): a story's
        summary stands in for a copy only when it was made alike, as a cache entry would be."""
        return cache_key(self.fingerprint, "", item.grounding, self.settings.flagged_policy, item.format)

    def _story_failed(self, op: str, item: NewsItem, exc: Exception) -> None:
        self.logger.warning("story index %s failed", op, extra={"item_id": item.id, "error": type(exc).__name__})
        self.metrics.add_metric("StoryIndexError", MetricUnit.Count, 1)

    # -- route and generate -------------------------------------------------------------------
    def _generate(self, items: list[NewsItem], start: float, deadline: Deadline) -> list[Outcome]:
        if not items:
            return []
        summarizer, checkout = self.engine()
        load_s = checkout.model.load_seconds if checkout.cold else None
        bodies, modes = [item.body for item in items], [item.grounding for item in items]
        formats = [item.format for item in items]
        done = (
            summarizer.batch(bodies, grounding=modes, fmt=formats)
            if self.settings.batch
            else [self._one(summarizer, b, m, f) for b, m, f in zip(bodies, modes, formats, strict=True)]
        )
        version = summarizer.model.manifest.version
        threshold = summarizer.model.manifest.confidence_threshold
        out: list[Outcome | None] = [None] * len(items)
        reasons: dict[int, str] = {i: OVER_BUDGET for i, d in enumerate(done) if isinstance(d, RouteDecision)}
        for i, d in enumerate(done):
            if not isinstance(d, Summary):
                continue
            if self.settings.flagged_policy == "escalate" and needs_teacher(d, threshold):
                reasons[i] = LOW_CONFIDENCE
            out[i] = self._local(items[i], d, version, start, load_s)
        cascade = sorted(reasons)
        redone = self._escalate([items[i] for i in cascade], [reasons[i] for i in cascade], start, deadline)
        for i, outcome in zip(cascade, redone, strict=True):
            local = out[i]
            teacher_failed = not isinstance(outcome, SummaryResult) or outcome.fallback
            student_ok = isinstance(local, SummaryResult) and not local.fallback
            if reasons[i] == LOW_CONFIDENCE and teacher_failed and student_ok:
                continue  # the teacher could not take a cascaded item: the student's summary stands
            out[i] = outcome
        return out  # type: ignore[return-value]

    @staticmethod
    def _one(summarizer: Summarizer, body: str, grounding: Grounding, fmt: Format) -> Summary | RouteDecision:
        try:
            return summarizer(body, grounding=grounding, fmt=fmt)
        except NeedsEscalation as exc:
            return exc.decision

    def _local(self, item: NewsItem, s: Summary, version: str, start: float, load_s: float | None) -> Outcome:
        gen = s.generation
        self.metrics.add_metric("TokensIn", MetricUnit.Count, gen.prompt_tokens)
        self.metrics.add_metric("TokensOut", MetricUnit.Count, len(gen.token_ids))
        self.metrics.add_metric("TimeToFirstToken", MetricUnit.Milliseconds, gen.prefill_seconds * 1000)
        self.metrics.add_metric("DecodeTokensPerSecond", MetricUnit.CountPerSecond, gen.decode_tokens_per_second)
        if s.guard.degenerate:  # guard: degenerate output is reported, never delivered
            return self._fallback(item, f"model output was {s.guard.degenerate}", start, retryable=False)
        if s.guard.flagged and self.settings.flagged_policy == "fallback":
            return self._fallback(item, "summary flagged by the faithfulness guard", start, lead_only=True)
        elapsed = (time.perf_counter() - start) * 1000
        return summary_result(item.id, s, version, "local", elapsed, load_s, item.grounding, item.format)

    def _escalate(self, items: list[NewsItem], reasons: list[str], start: float, deadline: Deadline) -> list[Outcome]:
        if not items:
            return []
        self.metrics.add_metric("Escalated", MetricUnit.Count, len(items))
        if cascaded := reasons.count(LOW_CONFIDENCE):
            self.metrics.add_metric("EscalatedLowConfidence", MetricUnit.Count, cascaded)
        if self.escalator is None:  # a configuration gap: retrying cannot fix it
            reason = "over the local token budget and no GPU endpoint is set"
            return [self._fallback(i, reason, start, retryable=False, escalated=True) for i in items]
        try:
            # settled items (run): the mode this deployment resolved travels with each one, so the
            # endpoint never applies its own default
            response = self.escalator.summarize(items, deadline=deadline)
        except EndpointLate as exc:  # not the endpoint's fault: retried with fresh time, never a lead stand-in
            self.logger.warning("escalation late", extra={"item_ids": [i.id for i in items], "error": str(exc)})
            return [ItemFailure(i.id, str(exc), retryable=True, late=True) for i in items]
        except EndpointUnavailable as exc:
            self.metrics.add_metric("EscalationFailed", MetricUnit.Count, len(items))
            self.logger.warning("escalation failed", extra={"item_ids": [i.id for i in items], "error": str(exc)})
            return [self._fallback(i, f"GPU endpoint unavailable: {exc}", start, escalated=True) for i in items]
        elapsed = round((time.perf_counter() - start) * 1000, 2)
        return [
            self._fallback(item, f"endpoint output was {r.faithfulness.degenerate}", start, False, escalated=True)
            if r.faithfulness.degenerate
            else r.model_copy(
                update={
                    "escalated": True,
                    "route": "escalate",
                    "escalation_reason": why,
                    "timings": r.timings.model_copy(update={"total_ms": elapsed}),
                }
            )
            for item, r, why in zip(items, response.results, reasons, strict=True)
        ]

    def _fallback(
        self,
        item: NewsItem,
        reason: str,
        start: float,
        retryable: bool = True,
        escalated: bool = False,
        lead_only: bool = False,
    ) -> Outcome:
        """The configured policy: an extractive lead summary marked ``fallback``, or a failure
        (``lead_only``: a flagged summary is replaced, never failed)."""
        if self.settings.fallback == "fail" and not lead_only:
            return ItemFailure(item.id, reason, retryable)
        self.metrics.add_metric("Fallback", MetricUnit.Count, 1)
        self.logger.info("fallback summary", extra={"item_id": item.id, "reason": reason})
        text = lead(item.body)
        return SummaryResult(
            id=item.id,
            summary=text,
            evidence=evidence_of(check(text, item.body)),  # the lead's own names and numbers, for the desk
            model_version=FALLBACK_MODEL,
            route="fallback",
            fallback=True,
            escalated=escalated,
            timings=Timings(total_ms=round((time.perf_counter() - start) * 1000, 2)),
        )

    # -- notify ---------------------------------------------------------------------------------
    def _notify(self, item: NewsItem, outcome: Outcome, deadline: Deadline) -> Outcome:
        if isinstance(outcome, ItemFailure):
            self.metrics.add_metric("ItemsFailed", MetricUnit.Count, 1)
            self.logger.warning("item failed", extra={"item_id": item.id, "reason": outcome.reason})
            return outcome
        ready = SummaryReady.of(item, outcome)
        quiet = outcome.route == "story" and self.settings.story_notify == "updates"  # editors have this one
        try:
            if not quiet:
                within(deadline, self.notifier.send, ready)
        except Exception as exc:  # SNS/EventBridge/disk, or too late: the summary is cached, a retry is cheap
            self.metrics.add_metric("NotifyFailed", MetricUnit.Count, 1)
            return ItemFailure(item.id, f"notification failed: {type(exc).__name__}", True)
        if self.desk is not None:
            try:
                within(deadline, self.desk.record, item, ready)
            except Exception as exc:  # the editors were notified: a desk that missed it is not worth a retry
                self.metrics.add_metric("DeskRecordFailed", MetricUnit.Count, 1)
                self.logger.warning("desk record failed", extra={"item_id": item.id, "error": type(exc).__name__})
        self.metrics.add_metric("Summarized", MetricUnit.Count, 1)  # the denominator of the rollout's rate alarms
        if outcome.faithfulness.flagged:
            self.metrics.add_metric("Flagged", MetricUnit.Count, 1)
        self.logger.info(
            "summary ready",
            extra={"item_id": item.id, "route": outcome.route, "flagged": outcome.faithfulness.flagged},
        )
        return outcome
