"""The KV-cache decoding loop: prefill the prompt once, then one token per step.

Hand-written because onnxruntime has no generation loop for a plain ORT session (the
onnxruntime-genai generator would add a second native runtime to the Lambda package);
the graph itself comes from onnxruntime-genai's builder (fused GroupQueryAttention).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from functions.runtime.sampling import GREEDY, SamplingParams, next_token


@dataclass
class Generation:
    token_ids: list[int]
    prompt_tokens: int
    prefill_seconds: float
    decode_seconds: float
    stop_reason: str  # "eos" or "length"

    @property
    def decode_tokens_per_second(self) -> float:
        steps = max(len(self.token_ids) - 1, 0)
        return steps / self.decode_seconds if self.decode_seconds > 0 else 0.0


class KVCacheDecoder:
    """Runs one ORT causal-LM graph with ``past_key_values.N.*`` inputs and ``present.N.*`` outputs."""

    def __init__(self, session: ort.InferenceSession, kv_heads: int, head_dim: int):
        self.session = session
        self.kv_heads, self.head_dim = kv_heads, head_dim  # the graph's KV shapes are symbolic
        inputs = {i.name: i for i in session.get_inputs()}
        self.past_names = sorted(
            (n for n in inputs if n.startswith("past_key_values.")),
            key=lambda n: (int(n.split(".")[1]), n.split(".")[2]),
        )
        self.dtype = np.float16 if "float16" in inputs[self.past_names[0]].type else np.float32
        self.output_names = [o.name for o in session.get_outputs()]
        self.present_names = [n.replace("past_key_values.", "present.") for n in self.past_names]
        self.has_position_ids = "position_ids" in inputs

    def empty_cache(self, batch: int = 1) -> dict[str, np.ndarray]:
        shape = (batch, self.kv_heads, 0, self.head_dim)
        return {name: np.zeros(shape, self.dtype) for name in self.past_names}

    def step(self, ids: np.ndarray, total_len: int, past: dict[str, np.ndarray]):
        """One forward pass; returns (logits of the last position, next past)."""
        feed = {"input_ids": ids, "attention_mask": np.ones((ids.shape[0], total_len), np.int64), **past}
        if self.has_position_ids:
            feed["position_ids"] = np.arange(total_len - ids.shape[1], total_len, dtype=np.int64)[None, :]
        out = self.session.run(["logits", *self.present_names], feed)
        return out[0], dict(zip(self.past_names, out[1:], strict=True))

    def generate(
        self,
        prompt_ids: Sequence[int],
        max_new_tokens: int,
        stop_ids: Sequence[int],
        sampling: SamplingParams = GREEDY,
        on_token: Callable[[int], None] | None = None,
    ) -> Generation:
        """Prefill once, then decode one token per step through the KV cache."""
        rng = np.random.default_rng(sampling.seed)
        start = time.perf_counter()
        total = len(prompt_ids)
        logits, past = self.step(np.asarray([prompt_ids], np.int64), total, self.empty_cache())
        prefill = time.perf_counter() - start
        tokens: list[int] = []
        reason = "length"
        start = time.perf_counter()
        for _ in range(max_new_tokens):
            nxt = next_token(logits[0, -1], sampling, rng, [*prompt_ids, *tokens])
            if nxt in stop_ids:
                reason = "eos"
                break
            tokens.append(nxt)
            if on_token:
                on_token(nxt)
            if len(tokens) == max_new_tokens:
                break
            total += 1
            logits, past = self.step(np.asarray([[nxt]], np.int64), total, past)
        return Generation(tokens, len(prompt_ids), prefill, time.perf_counter() - start, reason)
