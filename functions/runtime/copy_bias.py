"""Copy bias: a per-request logits processor that nudges the model to continue the article's own
phrases. After each token, the tokens that follow it somewhere in the part of the article the
model read get ``bias`` added to their logits, so a summary leans on the article's wording (as the
published highlights do) without being forced to copy. Chained after the grounding rule, whose
masks it never undoes. Hand-written: ORT has no logits-processor hook, and this is one dictionary
lookup and one vector add per step.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

import numpy as np


class CopyBias:
    def __init__(self, article_ids: Sequence[int], bias: float):
        follows: defaultdict[int, set[int]] = defaultdict(set)
        for a, b in itertools.pairwise(article_ids):
            follows[a].add(b)
        self.next_ids = {a: np.fromiter(ids, dtype=np.int64, count=len(ids)) for a, ids in follows.items()}
        self.bias = bias
        self.last: int | None = None

    def apply(self, logits: np.ndarray) -> np.ndarray:
        ids = self.next_ids.get(self.last) if self.last is not None else None
        if ids is None:
            return logits
        out = logits.copy()
        out[ids] += self.bias
        return out

    def advance(self, token: int) -> None:
        self.last = token


class Chain:
    """Several decoding rules applied in order (the Constraint protocol of kv_generate)."""

    def __init__(self, rules: Sequence):
        self.rules = list(rules)

    def apply(self, logits: np.ndarray) -> np.ndarray:
        for rule in self.rules:
            logits = rule.apply(logits)
        return logits

    def advance(self, token: int) -> None:
        for rule in self.rules:
            rule.advance(token)
