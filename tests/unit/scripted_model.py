"""A scripted stand-in for the graph behind KVCacheDecoder, for the batching and grounding tests.

``model(ids, past) -> (logits, past)`` sees each prompt's prefill alone and then every batched
decode step; the "KV cache" holds whatever the script keeps per position (a row's identity, a
step count), so a row dropped from the batch or a step fed twice is visible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from functions.runtime.kv_generate import KVCacheDecoder

Model = Callable[[np.ndarray, dict[str, np.ndarray]], tuple[np.ndarray, dict[str, np.ndarray]]]


class ScriptedCache:
    """The batched decode's cache as plain arrays, each row right-padded with zeros."""

    def __init__(self, model: Model, rows: list[dict[str, np.ndarray]]):
        self.model = model
        width = max(row[name].shape[2] for row in rows for name in row)
        pad = lambda a: np.pad(a, ((0, 0), (0, 0), (0, width - a.shape[2]), (0, 0)))  # noqa: E731
        self.past = {name: np.concatenate([pad(row[name]) for row in rows]) for name in rows[0]}

    def keep(self, rows: list[int]) -> list[int]:
        self.past = {name: value[rows] for name, value in self.past.items()}
        return rows

    def step(self, ids: np.ndarray) -> np.ndarray:
        logits, self.past = self.model(ids, self.past)
        return logits[:, -1]


def scripted_decoder(model: Model, names: list[str]) -> KVCacheDecoder:
    dec = KVCacheDecoder.__new__(KVCacheDecoder)
    dec.past_names, dec.prefix = names, []
    dec.empty_cache = lambda n: {name: np.zeros((n, 1, 0, 1), np.int64) for name in names}
    dec.step = lambda ids, total_len, past, prompts=(), positions=1: model(ids, past)
    dec.decode_cache = lambda rows, capacity, prompts: ScriptedCache(model, rows)
    return dec
