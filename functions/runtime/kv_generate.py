"""The KV-cache decoding loop: prefill the prompt once, then one token per step.

Hand-written because onnxruntime has no generation loop for a plain ORT session (the
onnxruntime-genai generator would add a second native runtime to the Lambda package);
the graph itself comes from onnxruntime-genai's builder (fused GroupQueryAttention).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import onnxruntime as ort

from functions.runtime.bundle import LOGITS_POSITIONS, OUTPUT_EXTRA_IDS
from functions.runtime.kv_cache import SharedKVCache
from functions.runtime.sampling import GREEDY, SamplingParams, next_token


class Constraint(Protocol):
    """Per-row decoding rule: masks the next token's scores, then learns the chosen token."""

    def apply(self, logits: np.ndarray) -> np.ndarray: ...
    def advance(self, token: int) -> None: ...


@dataclass
class Generation:
    token_ids: list[int]
    prompt_tokens: int
    prefill_seconds: float
    decode_seconds: float
    # "eos", "stop" (stop_when: a stop string; the Summarizer marks loops "loop"), "length" or "deadline"
    stop_reason: str
    # log-probability of each chosen token (and of the closing EOS) under the model's own, unconstrained
    # distribution: the cascade's confidence signal, and what distillation targets are scored by
    token_logprobs: list[float] = field(default_factory=list)
    # top-k (ids, log-probabilities) per step when asked for (``record_topk``): distillation targets
    topk: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    @property
    def mean_logprob(self) -> float:
        return float(np.mean(self.token_logprobs)) if self.token_logprobs else 0.0

    @property
    def decode_tokens_per_second(self) -> float:
        steps = max(len(self.token_ids) - 1, 0)
        return steps / self.decode_seconds if self.decode_seconds > 0 else 0.0


class KVCacheDecoder:
    """Runs one ORT causal-LM graph with ``past_key_values.N.*`` inputs and ``present.N.*`` outputs.

    The graph is onnxruntime-genai's builder output: GroupQueryAttention with rotary positions
    taken from the attention mask, so there is no ``position_ids`` input."""

    def __init__(self, session: ort.InferenceSession, kv_heads: int, head_dim: int, prefix: Sequence[int] = ()):
        """``prefix``: tokens most prompts start with (a prompt template's system turn); their keys
        and values are computed at the first prefill that starts with them and reused by every
        later one (the release template's 49 of a Lee news prompt's ~300 tokens)."""
        self.session = session
        self.prefix = list(prefix)
        self._prefix_cache: dict[str, np.ndarray] | None = None
        self.kv_heads, self.head_dim = kv_heads, head_dim  # the graph's KV shapes are symbolic
        inputs = {i.name: i for i in session.get_inputs()}
        self.past_names = sorted(
            (n for n in inputs if n.startswith("past_key_values.")),
            key=lambda n: (int(n.split(".")[1]), n.split(".")[2]),
        )
        self.dtype = np.float16 if "float16" in inputs[self.past_names[0]].type else np.float32
        self.present_names = [n.replace("past_key_values.", "present.") for n in self.past_names]
        self.short_head = OUTPUT_EXTRA_IDS in inputs  # model_export/short_head.py

    def extra_ids(self, rows: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
        """A short head's per-row output tokens beyond its fixed list: each row's prompt tokens (the
        article names the grounding lets it copy), padded by repeating one (the graph merges
        repeats). Empty for a graph with the full output layer."""
        if not self.short_head:
            return {}
        unique = [np.unique(np.asarray(row, np.int64)) for row in rows]
        width = max(len(u) for u in unique)
        return {OUTPUT_EXTRA_IDS: np.stack([np.pad(u, (0, width - len(u)), mode="edge") for u in unique])}

    def empty_cache(self, batch: int = 1) -> dict[str, np.ndarray]:
        shape = (batch, self.kv_heads, 0, self.head_dim)
        return {name: np.zeros(shape, self.dtype) for name in self.past_names}

    def step(
        self,
        ids: np.ndarray,
        total_len: int,
        past: dict[str, np.ndarray],
        prompts: Sequence[Sequence[int]] = (),
        positions: int = 1,
    ):
        """One forward pass of unpadded rows (a prefill, or a step outside the batched loop);
        returns (logits, next past). ``prompts``: each row's whole prompt, whose tokens a short
        head may also write (default: the ids fed); ``positions``: how many last positions get
        logits (a graph's ``logits_positions``; 1, the graph's default, is not fed)."""
        feed = {"input_ids": ids, "attention_mask": np.ones((ids.shape[0], total_len), np.int64), **past}
        feed |= self.extra_ids(prompts or ids.tolist())
        if positions != 1:
            feed[LOGITS_POSITIONS] = np.asarray([positions], np.int64)
        out = self.session.run(["logits", *self.present_names], feed)
        return out[0], dict(zip(self.past_names, out[1:], strict=True))

    def _prefill_rows(self, prompts: Sequence[Sequence[int]], capacity: int):
        """Prefill each prompt alone, then hand the caches to one shared buffer for a batched decode.

        A padded batched prefill computes every pad token (measured: ~1.7x the work on a
        burst of news items, which erased batching's gain); prefill is compute-bound on CPU,
        so rows gain nothing from sharing it. Decode is where batching pays.
        """
        last, caches = [], []
        for prompt in prompts:
            logits, cache = self.prefill(prompt)
            last.append(logits[0, -1])
            caches.append(cache)
        return np.stack(last), self.decode_cache(caches, capacity, prompts)

    def prefill(self, prompt: Sequence[int], positions: int = 1, vocab_of: Sequence[int] | None = None):
        """One prompt's forward pass, continuing from the prefix cache when the prompt starts with
        the prefix (GroupQueryAttention takes a multi-token step after a past at batch 1).
        ``positions``: logits for that many last positions; ``vocab_of``: the prompt whose tokens a
        short head may write (default ``prompt``)."""
        n = len(self.prefix)
        vocab = [vocab_of if vocab_of is not None else prompt]
        if not n or len(prompt) <= n or list(prompt[:n]) != self.prefix:
            return self.step(np.asarray([prompt], np.int64), len(prompt), self.empty_cache(1), vocab, positions)
        return self.step(np.asarray([prompt[n:]], np.int64), len(prompt), self.prefix_cache(), vocab, positions)

    def prefix_cache(self) -> dict[str, np.ndarray]:
        """The prefix's keys and values, computed on first use (the warm pool asks at load, so a
        cold start computes them beside the handler's imports)."""
        if self._prefix_cache is None:
            ids = np.asarray([self.prefix], np.int64)
            self._prefix_cache = self.step(ids, len(self.prefix), self.empty_cache(1))[1]
        return self._prefix_cache

    def decode_cache(
        self, rows: Sequence[dict[str, np.ndarray]], capacity: int, prompts: Sequence[Sequence[int]]
    ) -> SharedKVCache:
        """The batched decode's cache for prefilled rows (a method, so a scripted model can keep its own)."""
        return SharedKVCache(self, rows, capacity, self.extra_ids(prompts).get(OUTPUT_EXTRA_IDS))

    def generate(
        self,
        prompt_ids: Sequence[int],
        max_new_tokens: int,
        stop_ids: Sequence[int],
        sampling: SamplingParams = GREEDY,
        on_token: Callable[[int], None] | None = None,
        stop_when: Callable[[list[int]], bool] | None = None,
        constraint: Constraint | None = None,
        record_topk: int = 0,
        stop_at: float = math.inf,
    ) -> Generation:
        """One prompt: prefill once, then decode one token per step through the KV cache."""
        rules = [constraint] if constraint else None
        return self.generate_batch(
            [prompt_ids], max_new_tokens, stop_ids, sampling, on_token, stop_when, rules, record_topk, stop_at
        )[0]

    def generate_batch(
        self,
        prompts: Sequence[Sequence[int]],
        max_new_tokens: int,
        stop_ids: Sequence[int],
        sampling: SamplingParams = GREEDY,
        on_token: Callable[[int], None] | None = None,
        stop_when: Callable[[list[int]], bool] | None = None,
        constraints: Sequence[Constraint | None] | None = None,
        record_topk: int = 0,
        stop_at: float = math.inf,
    ) -> list[Generation]:
        """Several prompts decoded as one batch (each prefilled alone); finished rows leave the batch.

        ``on_token`` streams the first row's tokens as they are chosen; ``stop_when(tokens)``
        ends a row early (stop strings); ``constraints[row]`` masks that row's choices (grounding);
        ``record_topk`` keeps each step's top-k log-probabilities (distillation targets);
        ``stop_at`` (time.monotonic()) ends every unfinished row with stop reason "deadline".
        """
        if max_new_tokens <= 0 or time.monotonic() >= stop_at:
            reason = "length" if max_new_tokens <= 0 else "deadline"
            return [Generation([], len(p), 0.0, 0.0, reason) for p in prompts]
        rng = np.random.default_rng(sampling.seed)
        n = len(prompts)
        start = time.perf_counter()
        last, cache = self._prefill_rows(prompts, max(map(len, prompts)) + max_new_tokens)
        prefill = time.perf_counter() - start
        tokens: list[list[int]] = [[] for _ in range(n)]
        logprobs: list[list[float]] = [[] for _ in range(n)]
        topk: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n)]
        reasons = ["length"] * n
        active = list(range(n))  # original row index of each batch row
        start = time.perf_counter()
        while active:
            keep = []
            for pos, row in enumerate(active):
                history = [*prompts[row], *tokens[row]] if sampling.repetition_penalty != 1.0 else ()
                rule = constraints[row] if constraints else None
                scores = rule.apply(last[pos]) if rule else last[pos]
                nxt = next_token(scores, sampling, rng, history, tokens[row])
                logz = _log_softmax_denominator(last[pos])
                logprobs[row].append(float(last[pos][nxt]) - logz)
                if record_topk:
                    ids = np.argpartition(last[pos], -record_topk)[-record_topk:]
                    topk[row].append((ids, last[pos][ids].astype(np.float32) - logz))
                if nxt in stop_ids:
                    reasons[row] = "eos"
                    continue
                if rule:
                    rule.advance(nxt)
                tokens[row].append(nxt)
                if on_token and row == 0:
                    on_token(nxt)
                if stop_when and stop_when(tokens[row]):
                    reasons[row] = "stop"
                elif len(tokens[row]) < max_new_tokens:
                    keep.append(pos)
            if not keep:
                break
            if time.monotonic() >= stop_at:  # the caller's deadline: what is unfinished stays so
                for pos in keep:
                    reasons[active[pos]] = "deadline"
                break
            if len(keep) < len(active):  # a row has left: the cache says where the others are now
                active = [active[pos] for pos in cache.keep(keep)]
            last = cache.step(np.asarray([[tokens[row][-1]] for row in active], np.int64))
        decode = time.perf_counter() - start
        return [
            Generation(tokens[r], len(prompts[r]), prefill, decode, reasons[r], logprobs[r], topk[r]) for r in range(n)
        ]


def _log_softmax_denominator(logits: np.ndarray) -> float:
    """log(sum(exp(logits))), stable; ~0.1 ms over a 49k vocabulary, beside a ~5 ms decode step."""
    peak = float(logits.max())
    return peak + float(np.log(np.exp(logits - peak, dtype=np.float32).sum()))
