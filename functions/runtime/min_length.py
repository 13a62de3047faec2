"""Minimum length: a per-request logits processor that holds back the end of the summary until
``min_tokens`` tokens are written. The student stops early where the published highlights go on
(its CNN/DM summaries ran ~38% shorter than the references), and ROUGE's recall and the editors'
story card both want the third sentence. Hand-written for the same reason as the copy bias: ORT
has no logits-processor hook (transformers' ``MinNewTokensLengthLogitsProcessor`` does this for
torch tensors); it is one masked entry per step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class MinLength:
    def __init__(self, stop_ids: Sequence[int], min_tokens: int):
        self.stop_ids = np.asarray(list(stop_ids), dtype=np.int64)
        self.min_tokens = min_tokens
        self.written = 0

    def apply(self, logits: np.ndarray) -> np.ndarray:
        if self.written >= self.min_tokens:
            return logits
        out = logits.copy()
        out[self.stop_ids] = -np.inf
        # a rule before this one (grounding) may allow nothing but the end: then the end stands
        return out if np.isfinite(out).any() else logits

    def advance(self, token: int) -> None:
        self.written += 1
