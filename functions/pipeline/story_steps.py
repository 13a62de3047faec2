"""Breaking stories in the flow: which story an item belongs to, whether its latest summary still
holds for this copy (then it is served as ``route: story``), and each new summary recorded as the
story's next version. Like the cache, the index only saves work: it never stops a summary; it
lives beside the cache (its bucket in AWS), so its calls go through the cache's ``call``: the same
per-call bound and the same breaker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from functions.cache.key import ModelFingerprint, cache_key
from functions.config import Settings
from functions.pipeline.outcome import LogSink, MetricSink, Outcome, elapsed_ms
from functions.runtime.deadline import Deadline
from functions.schemas import Faithfulness, NewsItem, StoryRef, SummaryResult, Timings, evidence_of
from functions.stories.index import Match, StoryIndex
from functions.stories.reuse import fact_changes, still_holds


@dataclass
class StorySteps:
    index: StoryIndex | None
    fingerprint: ModelFingerprint
    settings: Settings
    metrics: MetricSink
    logger: LogSink
    store_call: Callable[..., object]  # (deadline, fn, *args): the cache's bounded, breaker-guarded call

    def match(self, item: NewsItem, deadline: Deadline) -> Match | None:
        """The story ``item`` belongs to; None without an index, or when it cannot answer in time."""
        if self.index is None:
            return None
        try:
            return self.store_call(deadline, self.index.match, item.body)
        except Exception as exc:
            self._failed("match", item, exc)
            return None

    def reuse(self, item: NewsItem, match: Match, start: float) -> SummaryResult | None:
        """The story's latest summary for this copy, when every fact it states is in this article."""
        latest = match.latest
        alike = latest is not None and latest.variant == self.variant(item)
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
            timings=Timings(total_ms=elapsed_ms(start)),
        )

    def record(self, item: NewsItem, match: Match, outcome: Outcome, deadline: Deadline) -> Outcome:
        """A new summary becomes its story's next version (or a new story's first)."""
        if not isinstance(outcome, SummaryResult) or outcome.fallback or not outcome.summary:
            return outcome
        facts = [e.text for e in outcome.evidence]
        try:
            version, previous = self.store_call(
                deadline,
                self.index.record,
                match, item.id, outcome.summary, outcome.format, facts, outcome.model_version, self.variant(item),
            )  # fmt: skip
        except Exception as exc:
            self._failed("record", item, exc)
            return outcome
        ref = StoryRef(id=version.story_id, version=version.version)
        if previous is not None:  # an update: what it says that the last version did not
            new, gone = fact_changes(previous.facts, facts)
            ref = ref.model_copy(update={"update_of": previous.version, "new_facts": new, "gone_facts": gone})
        return outcome.model_copy(update={"story": ref})

    def variant(self, item: NewsItem) -> str:
        """Everything but the text that the cache key holds (model, grounding, policy, format): a story's
        summary stands in for a copy only when it was made alike, as a cache entry would be."""
        return cache_key(self.fingerprint, "", item.grounding, self.settings.flagged_policy, item.format)

    def _failed(self, op: str, item: NewsItem, exc: Exception) -> None:
        self.logger.warning("story index %s failed", op, extra={"item_id": item.id, "error": type(exc).__name__})
        self.metrics.add_metric("StoryIndexError", MetricUnit.Count, 1)
