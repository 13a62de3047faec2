"""The cascade rule: which local summaries the escalation model (the teacher) should write again,
and why (the reason every result and metric carries).

A small student is cheap and usually right; when it is not, it tends to show it: the guard
flags a name or number, the output degenerates, or the student was unsure of its own tokens
(a low mean log-probability, with the threshold calibrated per bundle by the export on
held-out articles). Those few go to the teacher instead of to an editor.
"""

from __future__ import annotations

from functions.runtime.summarize import Summary

OVER_BUDGET = "over_budget"  # not the cascade: the article does not fit the local model at all
FLAGGED = "flagged"  # the guard found a number or name the article lacks
DEGENERATE = "degenerate"  # empty or looping output
LOW_CONFIDENCE = "low_confidence"  # the student's own tokens were unlikely


def cascade_reason(summary: Summary, threshold: float | None) -> str | None:
    """Why ``summary`` should be re-done by the escalation model; None when it stands."""
    if summary.guard.degenerate:
        return DEGENERATE
    if summary.guard.flagged:
        return FLAGGED
    if threshold is not None and summary.generation.mean_logprob < threshold:
        return LOW_CONFIDENCE
    return None


def needs_teacher(summary: Summary, threshold: float | None) -> bool:
    return cascade_reason(summary, threshold) is not None
