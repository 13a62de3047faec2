"""Candidates: a few summaries of one article, and the one the faithfulness check supports best.

The greedy summary plus ``n - 1`` sampled ones, decoded as one batch through the KV loop. The
chosen one is the unflagged candidate whose weakest sentence the check supports most; among equals,
the one with the highest mean ROUGE-L against the others (minimum-Bayes-risk decoding: the summary
most like the rest is the least likely to be a bad draw). Measured beside greedy decoding
(``newsburst eval --candidates``, bench/faithful_decoding.py); served only if it moves that
Pareto point (docs/benchmarks.md).
"""

from __future__ import annotations

from rouge_score import rouge_scorer

from functions.runtime.grounding import Grounding
from functions.runtime.prompt import Format
from functions.runtime.sampling import SamplingParams
from functions.runtime.summarize import Summarizer, Summary

SAMPLING = SamplingParams(temperature=0.7, top_k=40)
_SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


SUPPORT_TIE = 0.05  # supports this close are equal: the vote decides between them


def choose(candidates: list[Summary]) -> Summary:
    """The unflagged, best-supported candidate, the vote breaking near ties (all candidates when every
    one is flagged)."""
    pool = [c for c in candidates if not (c.guard.flagged or c.guard.degenerate)] or candidates
    best = max(_support(c) for c in pool)
    pool = [c for c in pool if _support(c) >= best - SUPPORT_TIE]
    if len(pool) == 1:
        return pool[0]

    def agreement(c: Summary) -> float:
        return sum(_SCORER.score(o.text, c.text)["rougeL"].fmeasure for o in pool if o is not c) / (len(pool) - 1)

    return max(pool, key=agreement)


def _support(c: Summary) -> float:
    return c.guard.verdict.support if c.guard.verdict else 0.0


def best_of(
    summarizer: Summarizer, article: str, greedy: Summary, n: int, mode: Grounding, fmt: Format | None, seed: int
) -> Summary:
    """``greedy`` and ``n - 1`` sampled candidates of ``article``; the chosen one."""
    params = SamplingParams(SAMPLING.temperature, SAMPLING.top_k, seed=seed)
    sampled = summarizer.batch([article] * (n - 1), sampling=params, grounding=mode, fmt=fmt)
    return choose([greedy, *(s for s in sampled if isinstance(s, Summary))])
