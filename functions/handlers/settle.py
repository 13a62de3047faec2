"""Settling outcomes for triggers without a queue of their own (S3, EventBridge).

Failures that a retry cannot fix go to the dead-letter sink at once. Retryable ones are handed
to the items queue one by one (the SQS trigger retries each with a fresh deadline, and its
redrive policy dead-letters it after the last receive): a retry never re-runs the event's other
records, so their editors are not notified twice and the invocation is not a Lambda error. Only
when the queue cannot take an item does the invocation raise, after everything else is done, so
Lambda's asynchronous retries (then the function's on-failure destination) take over.
"""

from __future__ import annotations

from functions.app import App
from functions.dead_letter import DeadLetter
from functions.pipeline import ItemFailure, Outcome
from functions.schemas import NewsItem


class RetryLater(RuntimeError):
    pass


def dead_letter(app: App, source: str, reason: str, item_id: str | None, payload: str) -> dict:
    app.dead_letters.put(DeadLetter(source, reason, item_id, payload))
    app.logger.warning("dead-lettered", extra={"source": source, "item_id": item_id, "reason": reason})
    return {"id": item_id, "status": "dead-lettered", "reason": reason}


def settle(
    app: App, source: str, outcomes: list[Outcome], items: list[NewsItem], payloads: dict[str, str]
) -> list[dict]:
    """``outcomes[i]`` is ``items[i]``'s; ``payloads`` the raw input per item id, for dead letters."""
    report, retry = [], []
    for item, outcome in zip(items, outcomes, strict=True):
        if not isinstance(outcome, ItemFailure):
            report.append({"id": outcome.id, "status": "summarized", "result": outcome.model_dump(mode="json")})
        elif outcome.retryable:
            try:
                app.handoff.put(item)
            except Exception as exc:  # the queue is down too: the whole event is retried instead
                app.logger.warning("handoff failed", extra={"item_id": item.id, "error": type(exc).__name__})
                retry.append(outcome)
                continue
            report.append({"id": item.id, "status": "queued for retry", "reason": outcome.reason})
        else:
            report.append(dead_letter(app, source, outcome.reason, outcome.item_id, payloads[outcome.item_id]))
    if retry:
        raise RetryLater("; ".join(f"{f.item_id}: {f.reason}" for f in retry))
    return report
