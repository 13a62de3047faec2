"""Copy bias: a per-request logits processor that nudges the model to continue the article's own
phrases. After each token, the tokens that follow it somewhere in the part of the article the
model read get ``bias`` added to their logits, so a summary leans on the article's wording (as the
published highlights do) without being forced to copy. Chained after the grounding rule, whose
masks it never undoes. Hand-written: ORT has no logits-processor hook, and this is one dictionary
lookup and one vector add per step.

With coverage (the bundle's ``copy_coverage``), a token that would repeat an n-gram the summary
already has gets no bonus: the bias otherwise pulls the model back into the article's opening
phrase after a sentence or two, and the loop stop then cuts the summary short (measured on CNN/DM
highlights: docs/benchmarks.md).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

import numpy as np


class CopyBias:
    def __init__(self, article_ids: Sequence[int], bias: float, coverage: int = 0):
        follows: defaultdict[int, set[int]] = defaultdict(set)
        for a, b in itertools.pairwise(article_ids):
            follows[a].add(b)
        self.next_ids = {a: np.fromiter(ids, dtype=np.int64, count=len(ids)) for a, ids in follows.items()}
        self.bias = bias
        self.coverage = coverage  # See et al. 2017's coverage in spirit: what was copied is not pulled again
        self.written: list[int] = []
        self.grams: set[tuple[int, ...]] = set()

    def apply(self, logits: np.ndarray) -> np.ndarray:
        ids = self.next_ids.get(self.written[-1]) if self.written else None
        if ids is None:
            return logits
        if self.coverage:
            head = tuple(self.written[len(self.written) - self.coverage + 1 :])
            ids = np.array([b for b in ids.tolist() if (*head, b) not in self.grams], dtype=np.int64)
        out = logits.copy()
        out[ids] += self.bias
        return out

    def advance(self, token: int) -> None:
        self.written.append(token)
        if self.coverage and len(self.written) >= self.coverage:
            self.grams.add(tuple(self.written[-self.coverage :]))


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
