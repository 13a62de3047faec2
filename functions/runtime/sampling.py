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
    seed: int | None = None  # same seed, same prompt -> same output

    def __post_init__(self) -> None:
        if self.temperature < 0 or self.top_k < 0 or not 0 < self.top_p <= 1 or self.repetition_penalty <= 0:
            raise ValueError(f"invalid sampling parameters: {self}")


GREEDY = SamplingParams()


def next_token(logits: np.ndarray, params: SamplingParams, rng: np.random.Generator, history: Sequence[int]) -> int:
    """``logits``: the last position's scores over the vocabulary."""
    if params.temperature == 0.0 and params.repetition_penalty == 1.0:
        return int(logits.argmax())  # the hot path: no copy of the 49k scores
    scores = logits.astype(np.float64, copy=True)
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
    probs = np.exp(scores - scores.max())
    probs /= probs.sum()
    if params.top_p < 1.0:
        order = np.argsort(-probs)
        keep = np.cumsum(probs[order]) - probs[order] < params.top_p  # always keeps the top token
        mask = np.zeros_like(probs, dtype=bool)
        mask[order[keep]] = True
        probs = np.where(mask, probs, 0.0)
        probs /= probs.sum()
    return int(rng.choice(probs.size, p=probs))
