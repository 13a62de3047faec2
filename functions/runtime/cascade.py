"""The cascade rule: which local summaries the escalation model (the teacher) should write again.

A small student is cheap and usually right; when it is not, it tends to show it: the guard
flags a name or number, the output degenerates, or the student was unsure of its own tokens
(a low mean log-probability, with the threshold calibrated per bundle by the export on
held-out articles). Those few go to the teacher instead of to an editor.
"""

from __future__ import annotations

from functions.runtime.summarize import Summary

LOW_CONFIDENCE = "low_confidence"


def needs_teacher(summary: Summary, threshold: float | None) -> bool:
    """True when ``summary`` should be re-done by the escalation model."""
    if summary.guard.flagged or summary.guard.degenerate:
        return True
    return threshold is not None and summary.generation.mean_logprob < threshold
