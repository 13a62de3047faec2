"""The warm-pool plan: every strategy at the sizes that matter, simulated on one trace; the
cheapest that meets the P99 target is the recommendation."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ops.cost import monthly_cost, per_thousand, summaries_per_month
from ops.lambda_model import ServiceProfile
from ops.prices import Prices
from ops.simulate import simulate
from ops.strategies import (
    OnDemand,
    Provisioned,
    Scheduled,
    SnapStart,
    Strategy,
    TargetTracking,
    Warmers,
)
from ops.traces import Trace

MAX_WARMERS = 5  # N concurrent pings are N targets of one EventBridge rule, which holds five (infra/template.yaml)


@dataclass(frozen=True)
class PlanInputs:
    trace: Trace
    profile: ServiceProfile
    p99_target_ms: float
    memories_mb: tuple[int, ...]
    prices: Prices = field(default_factory=Prices)
    idle_expiry_s: float = 600.0
    utilization: float = 0.7
    snapstart_restore_s: float = 0.5
    limit: int = 1000
    hit_rate: float = 0.0
    batch: int = 1
    seed: int = 0


def pool_sizes(peak: int) -> list[int]:
    """1, 2, 4, ... up to the on-demand run's peak concurrency, and the peak itself."""
    sizes = {1, max(1, peak)}
    n = 2
    while n < peak:
        sizes.add(n)
        n *= 2
    return sorted(sizes)


def busy_window(trace: Trace) -> tuple[float, float] | None:
    """The longest run of daily hours with more than the mean hourly traffic, read around the
    clock (22h-03h is one window), for the scheduled strategy; none for a trace under six hours."""
    if trace.duration_s < 6 * 3600:
        return None
    hours = np.bincount((trace.arrivals % 86_400 // 3600).astype(int), minlength=24)
    busy = hours > hours.mean()
    if busy.all() or not busy.any():
        return None
    start = int(np.argmin(busy))  # a quiet hour: every busy run starts after one
    best, run_start, run = (0, 0), None, 0
    for step in range(1, 25):
        h = (start + step) % 24
        if busy[h]:
            run_start = h if run == 0 else run_start
            run += 1
            best = max(best, (run, run_start))
        else:
            run = 0
    length, first = best
    return (first * 3600.0, (first + length) * 3600.0)


def candidates(inputs: PlanInputs, peak: int) -> list[Strategy]:
    expiry = inputs.idle_expiry_s
    sizes = pool_sizes(peak)
    out: list[Strategy] = [OnDemand(expiry), SnapStart(inputs.snapstart_restore_s, expiry)]
    out += [Provisioned(n, expiry) for n in sizes]
    out += [
        TargetTracking(inputs.utilization, n, max(2 * peak, n), idle_expiry_s=expiry)
        for n in sizes
        if n <= peak // 2 or n == 1
    ]
    window = busy_window(inputs.trace)
    if window:
        out += [Scheduled(1, n, window, expiry) for n in sizes if n > 1]  # the alias keeps at least one
    out += [Warmers(n, idle_expiry_s=expiry) for n in sizes if n <= MAX_WARMERS]
    return out


def _run(args: tuple[PlanInputs, Strategy, int]) -> dict:
    inputs, strategy, memory = args
    result = simulate(
        inputs.trace, strategy, inputs.profile, memory, inputs.limit, inputs.hit_rate, inputs.batch, inputs.seed
    )
    cost = monthly_cost(result, memory, inputs.prices, isinstance(strategy, SnapStart))
    users = len(result.latencies_s)
    summaries = summaries_per_month(result, inputs.batch)
    unit = per_thousand(cost["total"] / summaries if summaries else 0.0, inputs.profile.mean_tokens_out)
    return {
        "strategy": strategy.kind,
        "config": strategy.label,
        "memory_mb": memory,
        "measured_memory": inputs.profile.measured(memory),
        "p50_ms": round(result.percentile_ms(50), 1),
        "p99_ms": round(result.percentile_ms(99), 1),
        "cold_starts": result.cold_starts,
        "cold_pct": round(100 * result.cold_starts / users, 3) if users else 0.0,
        "spillover": result.spillover,
        "throttles": result.throttles,
        "peak_concurrency": result.peak_concurrency,
        "mean_environments": round(result.mean_environments, 2),
        "monthly_usd": round(cost["total"], 2),
        "cost_usd": {k: round(v, 2) for k, v in cost.items()},
        **unit,  # the month's bill over the month's summaries: cold starts and warm pools included
        "meets_target": result.percentile_ms(99) <= inputs.p99_target_ms and result.throttles == 0,
        "strategy_params": asdict(strategy),
    }


def plan(inputs: PlanInputs, workers: int | None = None, progress: bool = True) -> dict:
    """Every candidate at every memory size; parallel over the machine's cores."""
    if not inputs.trace.invocations:
        raise ValueError(f"trace {inputs.trace.name} has no invocations")
    peaks = {m: _run((inputs, OnDemand(inputs.idle_expiry_s), m))["peak_concurrency"] for m in inputs.memories_mb}
    jobs = [(inputs, s, m) for m in inputs.memories_mb for s in candidates(inputs, peaks[m])]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    bar = tqdm(total=len(jobs), desc="simulating", unit="run", disable=not progress)
    rows = []
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            for row in pool.map(_run, jobs):
                rows.append(row)
                bar.update()
    else:
        for job in jobs:
            rows.append(_run(job))
            bar.update()
    bar.close()
    best = best_of(rows)
    return {
        "rows": rows,
        "by_strategy": [
            best_of([r for r in rows if r["strategy"] == k]) for k in dict.fromkeys(r["strategy"] for r in rows)
        ],
        "by_memory": [best_of([r for r in rows if r["memory_mb"] == m]) for m in inputs.memories_mb],
        "recommendation": best,
    }


def best_of(rows: list[dict]) -> dict:
    """The cheapest row that meets the target, else the one with the lowest P99."""
    meeting = [r for r in rows if r["meets_target"]]
    if meeting:
        return min(meeting, key=lambda r: (r["monthly_usd"], r["p99_ms"]))
    return min(rows, key=lambda r: (r["throttles"], r["p99_ms"], r["monthly_usd"]))


def plot(result: dict, p99_target_ms: float, path: Path, title: str) -> Path:
    """Monthly cost against P99 latency, one colour per strategy, the target as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for kind in dict.fromkeys(r["strategy"] for r in result["rows"]):
        rows = [r for r in result["rows"] if r["strategy"] == kind]
        ax.scatter([r["p99_ms"] for r in rows], [max(r["monthly_usd"], 0.01) for r in rows], label=kind, s=22)
    ax.axvline(p99_target_ms, color="red", linestyle="--", label=f"P99 target {p99_target_ms:.0f} ms")
    best = result["recommendation"]
    ax.scatter([best["p99_ms"]], [max(best["monthly_usd"], 0.01)], marker="*", s=260, color="black", zorder=5)
    ax.annotate(
        f"{best['config']}, {best['memory_mb']} MB",
        (best["p99_ms"], max(best["monthly_usd"], 0.01)),
        textcoords="offset points",
        xytext=(8, 8),
        fontsize=8,
    )
    ax.set_yscale("log")
    ax.set_xlabel("P99 latency (ms)")
    ax.set_ylabel("monthly cost (USD, log)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def fit_scale(trace: Trace, max_invocations: int) -> float:
    """The thinning factor that brings a trace to at most ``max_invocations`` (1.0 if it is already)."""
    return min(1.0, max_invocations / trace.invocations) if trace.invocations else 1.0
