"""Choosing the next token: greedy, or temperature / top-k / top-p with a repetition penalty."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.0  # 0 means greedy
    top_k: int = 0  # 0 means no limit
    top_p: float = 1.0
    repetition_penalty: float = 1.0  # >1 discourages tokens already in prompt or output (CTRL)
    no_repeat_ngram: int = 0  # >0: never emit an n-gram the output already contains (prompt copies allowed)
    seed: int | None = None  # same seed, same prompt -> same output

    def __post_init__(self) -> None:
        bad = self.temperature < 0 or self.top_k < 0 or not 0 < self.top_p <= 1 or self.repetition_penalty <= 0
        if bad or self.no_repeat_ngram < 0:
            raise ValueError(f"invalid sampling parameters: {self}")


GREEDY = SamplingParams()


def repeated_ngram_ends(generated: Sequence[int], n: int) -> set[int]:
    """Tokens that would complete an n-gram already in ``generated`` (BART-style blocking)."""
    if n <= 0 or len(generated) < n - 1:
        return set()
    if n == 1:
        return set(generated)
    prefix = tuple(generated[len(generated) - n + 1 :])
    return {generated[i + n - 1] for i in range(len(generated) - n + 1) if tuple(generated[i : i + n - 1]) == prefix}


def next_token(
    logits: np.ndarray,
    params: SamplingParams,
    rng: np.random.Generator,
    history: Sequence[int],
    generated: Sequence[int] = (),
) -> int:
    """``logits``: the last position's scores over the vocabulary; ``history``: prompt + output
    (for the repetition penalty); ``generated``: the output so far (for n-gram blocking)."""
    banned = repeated_ngram_ends(generated, params.no_repeat_ngram)
    if params.temperature == 0.0 and params.repetition_penalty == 1.0:
        best = int(logits.argmax())  # the hot path: no copy of the 49k scores
        if best not in banned:
            return best
    scores = logits.astype(np.float64, copy=True)
    if banned:
        scores[list(banned)] = -np.inf
    if params.repetition_penalty != 1.0 and len(history):
        seen = np.unique(np.asarray(history, dtype=np.int64))
        vals = scores[seen]
        scores[seen] = np.where(vals > 0, vals / params.repetition_penalty, vals * params.repetition_penalty)
    if params.temperature == 0.0:
        return int(scores.argmax())
    scores /= params.temperature
    if params.top_k and params.top_k < scores.size:
        cutoff = np.partition(scores, -params.top_k)[-params.top_k]
        scores[scores < cutoff] = -np.inf
    peak = scores.max()
    if not np.isfinite(peak):  # nothing left to sample (every token masked): the greedy choice stands
        return int(logits.argmax())
    probs = np.exp(scores - peak)
    probs /= probs.sum()
    if params.top_p < 1.0:
        order = np.argsort(-probs)
        keep = np.cumsum(probs[order]) - probs[order] < params.top_p  # always keeps the top token
        mask = np.zeros_like(probs, dtype=bool)
        mask[order[keep]] = True
        probs = np.where(mask, probs, 0.0)
        probs /= probs.sum()
    return int(rng.choice(probs.size, p=probs))
