"""Settling outcomes for triggers without a queue of their own (S3, EventBridge).

Failures that a retry cannot fix go to the dead-letter sink at once. Retryable ones make
the invocation raise after everything else is done, so Lambda's asynchronous retries (and,
after them, the function's on-failure destination) take over; items already summarized are
cache hits on the retry.
"""

from __future__ import annotations

from functions.app import App
from functions.dead_letter import DeadLetter
from functions.pipeline import ItemFailure, Outcome


class RetryLater(RuntimeError):
    pass


def dead_letter(app: App, source: str, reason: str, item_id: str | None, payload: str) -> dict:
    app.dead_letters.put(DeadLetter(source, reason, item_id, payload))
    app.logger.warning("dead-lettered", extra={"source": source, "item_id": item_id, "reason": reason})
    return {"id": item_id, "status": "dead-lettered", "reason": reason}


def settle(app: App, source: str, outcomes: list[Outcome], payloads: dict[str, str]) -> list[dict]:
    report, retry = [], []
    for outcome in outcomes:
        if not isinstance(outcome, ItemFailure):
            report.append({"id": outcome.id, "status": "summarized", "result": outcome.model_dump(mode="json")})
        elif outcome.retryable:
            retry.append(outcome)
        else:
            report.append(dead_letter(app, source, outcome.reason, outcome.item_id, payloads[outcome.item_id]))
    if retry:
        raise RetryLater("; ".join(f"{f.item_id}: {f.reason}" for f in retry))
    return report
