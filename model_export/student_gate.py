"""The export's second gate: is the student worth serving beside its teacher?

Both bundles summarize the same held-out articles at their real length, as served (span
grounding), and only the articles the student serves itself count (longer ones go to the
teacher anyway). A student below ``floor`` x the teacher's ROUGE-Lsum is not servable.

The same outputs calibrate the cascade: the mean token log-probability below which a
student summary is re-done by the teacher. Of the candidate thresholds (the student's own
confidence quantiles), the one whose served mix scores the best ROUGE-Lsum wins, as long as
flagged + low-confidence escalations stay within ``max_escalated_share``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from functions.runtime.grounding import DEFAULT_GROUNDING
from functions.runtime.prompt import Format
from functions.runtime.summarize import Summarizer
from model_export.evaluate import Run, cascade, summarize_rows, teacher_run
from model_export.scoring import lead, rouge

QUANTILES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


@dataclass(frozen=True)
class StudentGate:
    articles: int
    student_rouge_lsum: float
    teacher_rouge_lsum: float
    floor: float
    confidence_threshold: float | None
    cascade_rouge_lsum: float
    cascade_escalated_pct: float
    by_format: dict[str, dict[str, float]]  # format -> student / teacher / lead3 ROUGE-Lsum on its rows

    @property
    def ratio(self) -> float:
        return self.student_rouge_lsum / self.teacher_rouge_lsum if self.teacher_rouge_lsum else 0.0

    @property
    def servable(self) -> bool:
        return self.ratio >= self.floor

    def explain(self) -> str:
        verdict = "servable" if self.servable else "NOT servable"
        return (
            f"student {verdict}: ROUGE-Lsum {self.student_rouge_lsum:.1f} = {self.ratio:.2f}x the teacher's "
            f"{self.teacher_rouge_lsum:.1f} on {self.articles} held-out articles (floor {self.floor:.2f}x)"
        )

    def as_metrics(self) -> dict:
        """Flat figures for the manifest (``servable_*``)."""
        return {
            "servable_articles": self.articles,
            "servable_student_rouge_lsum": self.student_rouge_lsum,
            "servable_teacher_rouge_lsum": self.teacher_rouge_lsum,
            "servable_ratio": round(self.ratio, 3),
            "servable_floor": self.floor,
            "servable_cascade_rouge_lsum": self.cascade_rouge_lsum,
            "servable_cascade_escalated_pct": self.cascade_escalated_pct,
            **{f"servable_{fmt}_{k}": v for fmt, row in self.by_format.items() for k, v in row.items()},
        }


def student_gate(
    student: Summarizer,
    teacher: Summarizer,
    articles: list[str],
    references: list[str],
    floor: float,
    max_escalated_share: float,
    cache_dir: Path | None = None,
    formats: list[Format] | None = None,
) -> StudentGate:
    """``formats``: each article's (default: the student's default format for all); the verdict
    records the student against lead-3 per format."""
    fmts = formats or [student.format] * len(articles)
    local = [
        i for i, (a, f) in enumerate(zip(articles, fmts, strict=True)) if student.decide(a, fmt=f)[1].route == "local"
    ]
    s_run, t_run, refs, by_format = Run(), Run(), [], {}
    for fmt in dict.fromkeys(fmts[i] for i in local):
        rows = [i for i in local if fmts[i] == fmt]
        arts, group_refs = [articles[i] for i in rows], [references[i] for i in rows]
        t_group = teacher_run(teacher, arts, DEFAULT_GROUNDING, cache_dir, fmt)
        s_group = summarize_rows(student, arts, DEFAULT_GROUNDING, f"gate student ({fmt})", t_group, fmt=fmt)  # no NLL
        by_format[fmt] = {
            "articles": len(rows),
            "student_rouge_lsum": rouge(s_group.texts, group_refs)["rougeLsum"],
            "teacher_rouge_lsum": rouge(t_group.texts, group_refs)["rougeLsum"],
            "lead3_rouge_lsum": rouge([lead(a) for a in arts], group_refs)["rougeLsum"],
        }
        for run, group in ((s_run, s_group), (t_run, t_group)):
            run.texts += group.texts
            run.summaries += group.summaries
            run.nll += group.nll
        refs += group_refs
    confidences = [s.generation.mean_logprob for s in s_run.summaries if s is not None]
    best: tuple[float, float | None, float] = (-1.0, None, 0.0)
    for q in QUANTILES:
        threshold = float(np.quantile(confidences, q)) if q and confidences else None
        mix, _ = cascade(s_run, t_run, threshold)
        share = sum(s is None for s in mix.summaries) / max(len(refs), 1)
        score = rouge(mix.texts, refs)["rougeLsum"]
        if (share <= max_escalated_share or threshold is None) and score > best[0]:
            best = (score, threshold, share)
    return StudentGate(
        articles=len(refs),
        student_rouge_lsum=rouge(s_run.texts, refs)["rougeLsum"],
        teacher_rouge_lsum=rouge(t_run.texts, refs)["rougeLsum"],
        floor=floor,
        confidence_threshold=None if best[1] is None else round(best[1], 4),
        cascade_rouge_lsum=best[0],
        cascade_escalated_pct=round(100 * best[2], 1),
        by_format=by_format,
    )
