"""The decode phase's KV cache, written in place (the KV-cache loop itself: kv_generate.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import onnxruntime as ort

from functions.runtime.bundle import OUTPUT_EXTRA_IDS


class Decoder(Protocol):
    """What the cache needs of the decoder (kv_generate.KVCacheDecoder): its session and layout."""

    session: ort.InferenceSession
    past_names: list[str]
    present_names: list[str]
    kv_heads: int
    head_dim: int
    dtype: np.dtype


class SharedKVCache:
    """The decode phase's KV cache, written in place.

    Fed back as plain arrays, each step's ``present`` is a fresh copy of the whole cache, one
    position longer (measured on the release student: decode at 1,024 prompt tokens ran at 0.6x
    its speed at 256). GroupQueryAttention writes the new position in place when past and
    present are the same memory, so each pair is one preallocated buffer of ``capacity``
    positions, bound through IOBinding as both the graph's input and its output. Each row's keys
    stay compact from position 0; the attention mask's row sums (``seqlens_k`` in the graph) say
    where a row's next key goes, and its width only has to cover the longest row. This is what
    onnxruntime-genai's generator does (``past_present_share_buffer``); a plain ORT session has no
    such loop, hence by hand.
    """

    def __init__(
        self,
        decoder: Decoder,
        rows: Sequence[dict[str, np.ndarray]],
        capacity: int,
        extra_ids: np.ndarray | None = None,
    ):
        """``extra_ids``: a short head's per-row output tokens (kv_generate.KVCacheDecoder.extra_ids),
        which follow their rows when rows leave."""
        self.decoder = decoder
        self.extra_ids = extra_ids
        # On CPU the OrtValue wraps the numpy buffer without a copy. On CUDA the buffer is uploaded
        # once and stays on the device, as onnxruntime-genai keeps it (not measured here: no GPU).
        self.device = "cuda" if decoder.session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"
        self.lengths = np.asarray([row[decoder.past_names[0]].shape[2] for row in rows], np.int64)
        buffers = {}
        for name in decoder.past_names:
            # positions past a row's length are never read (seqlens_k bounds them): no need to zero
            buf = np.empty((len(rows), decoder.kv_heads, capacity, decoder.head_dim), decoder.dtype)
            for i, row in enumerate(rows):
                buf[i, :, : self.lengths[i]] = row[name][0]
            buffers[name] = buf
        self._bind(buffers)

    def _bind(self, buffers: dict[str, np.ndarray]) -> None:
        self.buffers = buffers
        self.io = self.decoder.session.io_binding()
        self.io.bind_output("logits")  # bound first: get_outputs() keeps binding order; logits come to the host
        self.values = {}
        for name, present in zip(self.decoder.past_names, self.decoder.present_names, strict=True):
            value = self.values[name] = ort.OrtValue.ortvalue_from_numpy(buffers[name], self.device, 0)
            self.io.bind_ortvalue_input(name, value)
            self.io.bind_ortvalue_output(present, value)

    def keep(self, rows: list[int]) -> list[int]:
        """Only ``rows`` (batch positions, ascending) stay. Each freed slot below the new batch size
        takes a row from above it, so one row's used positions are copied per slot, not the whole
        cache (measured: compacting every row cost ~16 ms at batch 8). Returns the new order, as
        old positions."""
        if self.device != "cpu":  # the cache lives on the device: compact a host copy, then upload it
            self.buffers = {name: value.numpy() for name, value in self.values.items()}
        kept, size = set(rows), len(rows)
        order = list(range(size))
        holes = [pos for pos in order if pos not in kept]
        for hole, row in zip(holes, [r for r in rows if r >= size], strict=True):
            for buf in self.buffers.values():
                buf[hole, :, : self.lengths[row]] = buf[row, :, : self.lengths[row]]
            order[hole] = row
        self.lengths = self.lengths[order]
        if self.extra_ids is not None:
            self.extra_ids = self.extra_ids[order]
        self._bind({name: buf[:size] for name, buf in self.buffers.items()})
        return order

    def step(self, ids: np.ndarray) -> np.ndarray:
        """Feed one token per row; returns each row's next-token logits."""
        self.lengths += 1
        mask = (np.arange(self.lengths.max())[None, :] < self.lengths[:, None]).astype(np.int64)
        self.io.bind_cpu_input("input_ids", ids)
        self.io.bind_cpu_input("attention_mask", mask)
        if self.extra_ids is not None:
            self.io.bind_cpu_input(OUTPUT_EXTRA_IDS, self.extra_ids)
        self.decoder.session.run_with_iobinding(self.io)
        return self.io.get_outputs()[0].numpy()[:, -1]
