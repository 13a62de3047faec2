"""The flagged policy (``NEWSBURST_FLAGGED_POLICY``), read in one place: what a local summary's
guard report and confidence mean for its route.

- ``deliver``: a flagged summary is delivered, flagged (the editors see what was not found);
- ``lead``: a flagged summary is replaced by the article's lead (marked fallback);
- ``escalate``: a flagged, degenerate or low-confidence summary is written again by the GPU
  endpoint's teacher (the cascade); the student's summary stands in if the teacher cannot.
A degenerate summary (empty, looping) is never delivered, whatever the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from functions.config import FlaggedPolicy
from functions.runtime.cascade import cascade_reason
from functions.runtime.summarize import Summary


@dataclass(frozen=True)
class Verdict:
    stands: Literal["deliver", "lead", "degenerate"]  # what the local result is
    cascade: str | None  # why the teacher should write it again; None: the local result is final


def judge(summary: Summary, policy: FlaggedPolicy, threshold: float | None) -> Verdict:
    if summary.guard.degenerate:
        stands = "degenerate"
    elif summary.guard.flagged and policy == "lead":
        stands = "lead"
    else:
        stands = "deliver"
    return Verdict(stands, cascade_reason(summary, threshold) if policy == "escalate" else None)
