"""ROUGE scoring and the lead-3 baseline (rouge-score; one sentence per line for Lsum)."""

from __future__ import annotations

from rouge_score import rouge_scorer

from functions.runtime.extractive import lead, sentences

__all__ = ["lead", "rouge", "sentences"]


def rouge(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean F1 x 100 of ROUGE-1, ROUGE-2 and ROUGE-Lsum over aligned lists."""
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeLsum": 0.0}
    for pred, ref in zip(predictions, references, strict=True):
        if pred.strip() == ref.strip():  # rouge-score gives 0 for two empty texts
            for key in totals:
                totals[key] += 1.0
            continue
        scores = scorer.score("\n".join(sentences(ref)), "\n".join(sentences(pred)))
        for key in totals:
            totals[key] += scores[key].fmeasure
    n = max(len(predictions), 1)
    return {key: round(100 * value / n, 2) for key, value in totals.items()}
