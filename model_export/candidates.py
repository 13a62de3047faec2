"""Candidates: a few summaries of one article, and the one the grounding check and a vote prefer.

The greedy summary plus ``n - 1`` sampled ones, decoded as one batch through the KV loop. The
chosen one is the unflagged candidate with the highest mean ROUGE-L against the others
(minimum-Bayes-risk decoding: the summary most like the rest is the least likely to be a bad
draw). Measured in the eval beside greedy decoding, quality against time per item; it is served
only if it moves that Pareto point (docs/benchmarks.md).
"""

from __future__ import annotations

from rouge_score import rouge_scorer

from functions.runtime.grounding import Grounding
from functions.runtime.prompt import Format
from functions.runtime.sampling import SamplingParams
from functions.runtime.summarize import Summarizer, Summary

SAMPLING = SamplingParams(temperature=0.7, top_k=40)
_SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def choose(candidates: list[Summary]) -> Summary:
    """The unflagged candidate closest to the others (all of them when every one is flagged)."""
    pool = [c for c in candidates if not (c.guard.flagged or c.guard.degenerate)] or candidates
    if len(pool) == 1:
        return pool[0]

    def agreement(c: Summary) -> float:
        return sum(_SCORER.score(o.text, c.text)["rougeL"].fmeasure for o in pool if o is not c) / (len(pool) - 1)

    return max(pool, key=agreement)


def best_of(
    summarizer: Summarizer, article: str, greedy: Summary, n: int, mode: Grounding, fmt: Format | None, seed: int
) -> Summary:
    """``greedy`` and ``n - 1`` sampled candidates of ``article``; the chosen one."""
    params = SamplingParams(SAMPLING.temperature, SAMPLING.top_k, seed=seed)
    sampled = summarizer.batch([article] * (n - 1), sampling=params, grounding=mode, fmt=fmt)
    return choose([greedy, *(s for s in sampled if isinstance(s, Summary))])
