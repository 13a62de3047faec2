"""What one Lambda environment costs in time: the measured service profile, scaled by memory.

Lambda gives CPU in proportion to memory: 1,769 MB is one vCPU, 10,240 MB is six. The profile
holds what ``newsburst warmpool profile`` measured here at 1 and 2 ORT threads; other sizes are
modelled: below one vCPU everything slows in proportion (a CPU share), above it the parallel
part speeds up by Amdahl's law fitted to the 1- and 2-thread service times. Beyond two vCPUs
that is an extrapolation, and the planner's table says which sizes were measured.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MB_PER_VCPU = 1769
MAX_VCPUS = 6
MEMORY_RANGE_MB = (128, 10_240)
# The sizes --memory auto tries: below, at and above the measured 1 and 2 vCPUs, up to the maximum
MEMORY_SWEEP_MB = (1024, 1769, 2048, 3008, 3538, 5307, 10_240)


def vcpus(memory_mb: int) -> float:
    if not MEMORY_RANGE_MB[0] <= memory_mb <= MEMORY_RANGE_MB[1]:
        raise ValueError(f"Lambda memory is {MEMORY_RANGE_MB[0]}..{MEMORY_RANGE_MB[1]} MB, got {memory_mb}")
    return min(MAX_VCPUS, memory_mb / MB_PER_VCPU)


@dataclass(frozen=True)
class ServiceProfile:
    """Seconds measured through the entry point; see ``ops.profile`` for how."""

    init_s: list[float]  # a fresh process until the handler is ready (imports + bundle load)
    service_s: dict[int, list[float]]  # ORT threads -> per-invocation seconds, one item each
    tokens_in: list[int]  # the measured articles' prompt lengths (same order as service_s)
    batch_s_per_item: dict[int, float] = field(default_factory=dict)  # SQS batch size -> s per item (1 thread)
    tokens_out: list[int] = field(default_factory=list)  # the summaries' lengths (what a token price bills)
    hit_s: float = 0.005  # a cache hit through the handler
    source: str = "measured"

    @classmethod
    def read(cls, path: Path) -> ServiceProfile:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(
                f"{path}: no service profile; measure one with `newsburst warmpool profile` (or `make profile`)"
            ) from None
        return cls(
            init_s=[float(x) for x in data["init_s"]],
            service_s={int(k): [float(x) for x in v] for k, v in data["service_s"].items()},
            tokens_in=[int(x) for x in data["tokens_in"]],
            batch_s_per_item={int(k): float(v) for k, v in data.get("batch_s_per_item", {}).items()},
            hit_s=float(data.get("hit_s", 0.005)),
            tokens_out=[int(x) for x in data.get("tokens_out", [])],
            source=str(path),
        )

    def to_json(self) -> dict:
        return {
            "init_s": self.init_s,
            "service_s": {str(k): v for k, v in self.service_s.items()},
            "tokens_in": self.tokens_in,
            "batch_s_per_item": {str(k): v for k, v in self.batch_s_per_item.items()},
            "hit_s": self.hit_s,
            "tokens_out": self.tokens_out,
        }

    @property
    def parallel_fraction(self) -> float:
        """Amdahl's p from the median 1- and 2-thread service times (0 when only one was measured)."""
        if 1 not in self.service_s or 2 not in self.service_s:
            return 0.0
        ratio = float(np.median(self.service_s[2]) / np.median(self.service_s[1]))
        return min(1.0, max(0.0, 2 * (1 - ratio)))

    def one_thread_s(self, memory_mb: int) -> float:
        """The mean service time of one item at ``memory_mb`` (what a warm invocation bills)."""
        return float(np.mean(self.service_s[1])) / self.speedup(memory_mb)

    @property
    def mean_tokens_out(self) -> float | None:
        return float(np.mean(self.tokens_out)) if self.tokens_out else None

    def length_fit(self) -> tuple[float, float]:
        """(seconds at zero length, seconds per prompt token) at one thread: how service grows with
        the article (least squares over the measured articles)."""
        if len(set(self.tokens_in)) < 2:
            return float(np.mean(self.service_s[1])), 0.0
        slope, intercept = np.polyfit(self.tokens_in, self.service_s[1][: len(self.tokens_in)], 1)
        return float(intercept), float(slope)

    def speedup(self, memory_mb: int) -> float:
        """Service-time divisor against one vCPU."""
        v = vcpus(memory_mb)
        if v <= 1:
            return v
        p = self.parallel_fraction
        return 1 / ((1 - p) + p / v)

    def measured(self, memory_mb: int) -> bool:
        return math.ceil(vcpus(memory_mb)) in self.service_s and vcpus(memory_mb) in (1.0, 2.0)

    def batch_factor(self, batch: int) -> float:
        """Seconds per item in a batch of ``batch`` against one item alone (1.0 unmeasured)."""
        if batch <= 1 or not self.batch_s_per_item or 1 not in self.batch_s_per_item:
            return 1.0
        sizes = sorted(self.batch_s_per_item)
        per_item = float(np.interp(batch, sizes, [self.batch_s_per_item[s] for s in sizes]))
        return per_item / self.batch_s_per_item[1]

    def sampler(self, memory_mb: int, rng: np.random.Generator) -> ServiceSampler:
        return ServiceSampler(self, self.speedup(memory_mb), min(1.0, vcpus(memory_mb)), rng)


@dataclass
class ServiceSampler:
    """Draws from the measured samples (which carry the spread of real article lengths)."""

    profile: ServiceProfile
    speedup: float
    init_share: float  # initialization is mostly single-threaded: only a CPU share below 1 vCPU slows it
    rng: np.random.Generator

    def service(self, batch: int = 1) -> float:
        samples = self.profile.service_s[1]
        total = sum(samples[self.rng.integers(len(samples))] for _ in range(batch))
        return total * self.profile.batch_factor(batch) / self.speedup

    def init(self) -> float:
        samples = self.profile.init_s
        return samples[self.rng.integers(len(samples))] / self.init_share

    def hit(self) -> float:
        return self.profile.hit_s / self.init_share
