"""The fallback policy: what an item gets when no model can give it a summary worth delivering
(``NEWSBURST_WHEN_NO_MODEL``): the article's lead sentences marked ``fallback``, or a failure that
goes back to its trigger (a retry, or a dead letter when retrying cannot help)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from functions.pipeline.outcome import ItemFailure, LogSink, MetricSink, Outcome, elapsed_ms
from functions.runtime.extractive import lead
from functions.runtime.guard import check
from functions.schemas import NewsItem, SummaryResult, Timings, evidence_of

FALLBACK_MODEL = "lead-3"


@dataclass
class FallbackPolicy:
    mode: str  # "lead" | "fail"
    metrics: MetricSink
    logger: LogSink

    def __call__(
        self,
        item: NewsItem,
        reason: str,
        start: float,
        retryable: bool = True,
        escalated: bool = False,
        replaces_flagged: bool = False,
    ) -> Outcome:
        """``replaces_flagged``: the flagged policy swapped a flagged summary for the lead; that is
        never a failure, whatever the mode."""
        if self.mode == "fail" and not replaces_flagged:
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
            timings=Timings(total_ms=elapsed_ms(start)),
        )
