"""A runtime Summary as the SummaryResult message (used by the functions and the GPU endpoint)."""

from __future__ import annotations

from functions.runtime.summarize import Summary
from functions.schemas import Faithfulness, SummaryResult, Timings, evidence_of, sentences_of


def summary_result(
    item_id: str,
    s: Summary,
    model_version: str,
    route: str,
    total_ms: float,
    load_s: float | None = None,
    grounding: str | None = None,
    fmt: str | None = None,
) -> SummaryResult:
    gen = s.generation
    return SummaryResult(
        id=item_id,
        summary="" if s.guard.degenerate else s.text,  # degenerate output is reported, never delivered
        model_version=model_version,
        route=route,
        format=fmt,
        escalated=route == "escalate",
        tokens_in=gen.prompt_tokens,
        tokens_out=len(gen.token_ids),
        model_ms=round((gen.prefill_seconds + gen.decode_seconds) * 1000, 2),
        timings=Timings(
            total_ms=round(total_ms, 2),
            time_to_first_token_ms=round(gen.prefill_seconds * 1000, 2),
            decode_tokens_per_second=round(gen.decode_tokens_per_second, 1),
            model_load_s=load_s,
        ),
        faithfulness=Faithfulness(
            flagged=s.guard.flagged,
            support=round(s.guard.verdict.support, 3) if s.guard.verdict else None,
            sentences=sentences_of(s.guard),
            dropped_sentences=s.dropped_sentences,
            unsupported_claims=s.guard.unsupported_claims,
            degenerate=s.guard.degenerate,
            instructions_in_article=s.guard.instructions_in_article,
            grounding=grounding,
        ),
        evidence=[] if s.guard.degenerate else evidence_of(s.guard),
    )
