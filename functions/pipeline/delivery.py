"""Notification: each item's outcome to the editors (SNS, EventBridge or the outbox) and to the
desk's feed, with the metrics the rollout's alarms count. A reused story summary notifies only
when ``NEWSBURST_STORY_NOTIFY=all``: under ``updates`` the editors already have it. The desk's
feed lives beside the response cache (its bucket in AWS), so its record goes through the cache's
``call``: the same per-call bound, the same breaker, skipped once the cache failed in this
invocation (a trickling bucket held every invocation to its deadline here: the chaos bench)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from functions.desk_records.feed import DeskFeed
from functions.notify import Notifier
from functions.pipeline.outcome import ItemFailure, LogSink, MetricSink, Outcome
from functions.runtime.deadline import Deadline, within
from functions.schemas import NewsItem, SummaryReady


@dataclass
class Delivery:
    notifier: Notifier
    desk: DeskFeed | None
    story_notify: str  # "updates" | "all"
    metrics: MetricSink
    logger: LogSink
    store_call: Callable[..., object]  # (deadline, fn, *args): the cache's bounded, breaker-guarded call

    def __call__(self, item: NewsItem, outcome: Outcome, deadline: Deadline) -> Outcome:
        if isinstance(outcome, ItemFailure):
            self.metrics.add_metric("ItemsFailed", MetricUnit.Count, 1)
            self.logger.warning("item failed", extra={"item_id": item.id, "reason": outcome.reason})
            return outcome
        ready = SummaryReady.of(item, outcome)
        quiet = outcome.route == "story" and self.story_notify == "updates"  # editors have this one
        try:
            if not quiet:
                within(deadline, self.notifier.send, ready)
        except Exception as exc:  # SNS/EventBridge/disk, or too late: the summary is cached, a retry is cheap
            self.metrics.add_metric("NotifyFailed", MetricUnit.Count, 1)
            return ItemFailure(item.id, f"notification failed: {type(exc).__name__}", True)
        if self.desk is not None:
            try:
                self.store_call(deadline, self.desk.record, item, ready)
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
