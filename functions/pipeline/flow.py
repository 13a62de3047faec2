"""The summarize pipeline, one way: cache lookup -> story lookup -> route -> generate -> guard ->
story record -> cache write -> notify. Each step is its own part (this package's modules);
``Pipeline.run`` is the flow between them.

Every item comes out as a SummaryResult or an ItemFailure; the handlers turn failures into
their trigger's retry signal or a dead letter, so nothing is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_lambda_powertools.metrics import MetricUnit

from functions.cache.key import ModelFingerprint, cache_key
from functions.cache.store import ResponseCache
from functions.config import Settings
from functions.desk_records.feed import DeskFeed
from functions.escalation.client import EndpointClient
from functions.notify import Notifier
from functions.pipeline.claims import CacheSteps
from functions.pipeline.delivery import Delivery
from functions.pipeline.fallback import FallbackPolicy
from functions.pipeline.model_step import Engine, ModelStep
from functions.pipeline.outcome import ItemFailure, LogSink, MetricSink, Outcome
from functions.pipeline.story_steps import StorySteps
from functions.runtime.deadline import NEVER, Deadline
from functions.schemas import NewsItem, SummaryResult
from functions.stories.index import Match, StoryIndex

# after the deadline, what is done is still written down (cache, notification) for this long;
# the deadline margin (NEWSBURST_DEADLINE_MARGIN_S, 3 s) leaves room for it before Lambda's timeout
GRACE_S = 2.0


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
    caching: CacheSteps = field(init=False)
    story_steps: StorySteps = field(init=False)
    model: ModelStep = field(init=False)
    deliver: Delivery = field(init=False)

    def __post_init__(self) -> None:
        s, metrics, logger = self.settings, self.metrics, self.logger
        self.caching = CacheSteps(self.cache, s, metrics, logger)
        self.story_steps = StorySteps(self.stories, self.fingerprint, s, metrics, logger, self.caching.call)
        fallback = FallbackPolicy(s.when_no_model, metrics, logger)
        # through self.engine at each call: the pipeline's engine stays the one way to the model
        self.model = ModelStep(lambda: self.engine(), self.escalator, s, fallback, metrics, logger)
        self.deliver = Delivery(self.notifier, self.desk, s.story_notify, metrics, logger, self.caching.call)

    def key_for(self, item: NewsItem) -> str:
        """The response cache key this deployment files ``item``'s summary under."""
        item = item.settled(self.settings)
        return cache_key(self.fingerprint, item.body, item.grounding, self.settings.flagged_policy, item.format)

    def lookup(self, key: str) -> SummaryResult | None:
        """A summary by key for ``GET /summaries/{key}`` (the model's, else the lead it stood in
        with); None when absent or unreadable."""
        self.caching.begin()
        return self.caching.answer(key)

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
        self.caching.begin()
        # the story index lives in the cache's bucket: once a cache call of this invocation failed
        # (a slow or broken bucket), the index is not asked either, on the invocation's time
        cache_ok = lambda: not self.caching.broken  # noqa: E731
        with self.caching.claims(grace) as claims:
            for i, key in enumerate(keys):
                if key in owner_of:
                    continue  # a duplicate within the batch copies its owner's outcome below
                if (hit := self.caching.lookup(key, deadline)) is not None:
                    out[i] = self.caching.hit(hit, items[i], start)
                    continue
                self.metrics.add_metric("CacheMiss", MetricUnit.Count, 1)
                if cache_ok() and (match := self.story_steps.match(items[i], deadline)) is not None:
                    matches[i] = match
                    if (reused := self.story_steps.reuse(items[i], match, start)) is not None:
                        out[i] = reused
                        continue
                owner_of[key] = i
                (todo if claims.take(key, deadline) else elsewhere).append(i)
            generated = self.model.run([items[i] for i in todo], start, deadline)
            for i, outcome in zip(todo, generated, strict=True):
                if i in matches and cache_ok():
                    outcome = self.story_steps.record(items[i], matches[i], outcome, grace)
                out[i] = claims.settle(keys[i], outcome)
        for i in elsewhere:
            cached = self.caching.wait(keys[i], deadline)
            out[i] = (
                self.caching.hit(cached, items[i], start)
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
        return [self.deliver(item, outcome, grace) for item, outcome in zip(items, out, strict=True)]
