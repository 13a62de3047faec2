"""Route and generate: the local model for what fits its budget, the GPU endpoint for what does
not and for what the cascade sends it (``route.judge``), each result or stand-in per item."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from functions.config import Settings
from functions.escalation.client import EndpointClient, EndpointLate, EndpointUnavailable
from functions.pipeline.fallback import FallbackPolicy
from functions.pipeline.outcome import ItemFailure, LogSink, MetricSink, Outcome, elapsed_ms
from functions.pipeline.route import judge
from functions.runtime.cascade import DEGENERATE, FLAGGED, LOW_CONFIDENCE, OVER_BUDGET
from functions.runtime.deadline import Deadline
from functions.runtime.escalation_rule import RouteDecision
from functions.runtime.grounding import Grounding
from functions.runtime.loaded_models import Checkout
from functions.runtime.prompt import Format
from functions.runtime.summarize import NeedsEscalation, Summarizer, Summary
from functions.schemas import NewsItem, SummaryResult
from functions.summary_result import summary_result

Engine = Callable[[], tuple[Summarizer, Checkout]]  # the container's loaded model (runtime/loaded_models.py)
# the metric each escalation reason adds beside Escalated (the dashboard's escalation widget)
REASON_METRICS = {
    FLAGGED: "EscalatedFlagged",
    DEGENERATE: "EscalatedDegenerate",
    LOW_CONFIDENCE: "EscalatedLowConfidence",
    OVER_BUDGET: "EscalatedOverBudget",
}


@dataclass
class ModelStep:
    engine: Engine
    escalator: EndpointClient | None
    settings: Settings
    fallback: FallbackPolicy
    metrics: MetricSink
    logger: LogSink

    def run(self, items: list[NewsItem], start: float, deadline: Deadline) -> list[Outcome]:
        """One outcome per (settled) item, in order."""
        if not items:
            return []
        summarizer, checkout = self.engine()
        load_s = checkout.model.load_seconds if checkout.cold else None
        bodies, modes, formats = [i.body for i in items], [i.grounding for i in items], [i.format for i in items]
        stop_at = deadline.at  # generation stops there: what finished is delivered, the rest handed back
        done = (
            summarizer.batch(bodies, grounding=modes, fmt=formats, stop_at=stop_at)
            if self.settings.batch
            else [self._one(summarizer, b, m, f, stop_at) for b, m, f in zip(bodies, modes, formats, strict=True)]
        )
        version = summarizer.model.manifest.version
        threshold = summarizer.model.manifest.confidence_threshold
        out: list[Outcome | None] = [None] * len(items)
        reasons: dict[int, str] = {i: OVER_BUDGET for i, d in enumerate(done) if isinstance(d, RouteDecision)}
        for i, d in enumerate(done):
            if isinstance(d, Summary) and d.generation.stop_reason == "deadline":
                out[i] = ItemFailure(items[i].id, "deadline reached during generation", retryable=True, late=True)
            elif isinstance(d, Summary):
                verdict = judge(d, self.settings.flagged_policy, threshold)
                if verdict.cascade:
                    reasons[i] = verdict.cascade
                out[i] = self._local(items[i], d, verdict.stands, version, start, load_s)
        sent = sorted(reasons)
        redone = self._escalate([items[i] for i in sent], [reasons[i] for i in sent], start, deadline)
        for i, outcome in zip(sent, redone, strict=True):
            local = out[i]
            teacher_failed = not isinstance(outcome, SummaryResult) or outcome.fallback
            student_ok = isinstance(local, SummaryResult) and not local.fallback
            if reasons[i] != OVER_BUDGET and teacher_failed and student_ok:
                continue  # the teacher could not take a cascaded item: the student's summary stands
            out[i] = outcome
        return out  # type: ignore[return-value]

    @staticmethod
    def _one(
        summarizer: Summarizer, body: str, grounding: Grounding, fmt: Format, stop_at: float
    ) -> Summary | RouteDecision:
        try:
            return summarizer(body, grounding=grounding, fmt=fmt, stop_at=stop_at)
        except NeedsEscalation as exc:
            return exc.decision

    def _local(
        self, item: NewsItem, s: Summary, stands: str, version: str, start: float, load_s: float | None
    ) -> Outcome:
        gen = s.generation
        self.metrics.add_metric("TokensIn", MetricUnit.Count, gen.prompt_tokens)
        self.metrics.add_metric("TokensOut", MetricUnit.Count, len(gen.token_ids))
        self.metrics.add_metric("TimeToFirstToken", MetricUnit.Milliseconds, gen.prefill_seconds * 1000)
        self.metrics.add_metric("DecodeTokensPerSecond", MetricUnit.CountPerSecond, gen.decode_tokens_per_second)
        if stands == "degenerate":  # reported, never delivered
            return self.fallback(item, f"model output was {s.guard.degenerate}", start, retryable=False)
        if stands == "lead":
            return self.fallback(item, "summary flagged by the faithfulness guard", start, replaces_flagged=True)
        elapsed = (time.perf_counter() - start) * 1000
        return summary_result(item.id, s, version, "local", elapsed, load_s, item.grounding, item.format)

    def _escalate(self, items: list[NewsItem], reasons: list[str], start: float, deadline: Deadline) -> list[Outcome]:
        if not items:
            return []
        self.metrics.add_metric("Escalated", MetricUnit.Count, len(items))
        for reason in dict.fromkeys(reasons):
            self.metrics.add_metric(REASON_METRICS[reason], MetricUnit.Count, reasons.count(reason))
        if self.escalator is None:  # a configuration gap: retrying cannot fix it
            reason = "over the local token budget and no GPU endpoint is set"
            return [self.fallback(i, reason, start, retryable=False, escalated=True) for i in items]
        try:
            # settled items: the mode this deployment resolved travels with each one, so the
            # endpoint never applies its own default
            response = self.escalator.summarize(items, deadline=deadline)
        except EndpointLate as exc:  # not the endpoint's fault: retried with fresh time, never a lead stand-in
            self.logger.warning("escalation late", extra={"item_ids": [i.id for i in items], "error": str(exc)})
            return [ItemFailure(i.id, str(exc), retryable=True, late=True) for i in items]
        except EndpointUnavailable as exc:
            self.metrics.add_metric("EscalationFailed", MetricUnit.Count, len(items))
            self.logger.warning("escalation failed", extra={"item_ids": [i.id for i in items], "error": str(exc)})
            return [self.fallback(i, f"GPU endpoint unavailable: {exc}", start, escalated=True) for i in items]
        elapsed = elapsed_ms(start)
        return [
            self.fallback(item, f"endpoint output was {r.faithfulness.degenerate}", start, False, escalated=True)
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
