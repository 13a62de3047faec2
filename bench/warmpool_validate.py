"""The warm-pool simulator validated side by side in one run, against

(a) SimFaaS (Mahmoudi & Khazaei's serverless simulator, the ``simfaas`` package) in steady state
    on Poisson traffic: cold-start probability and mean environments, with the same service and
    cold-start distributions (the measured profile) fed to both; and
(b) ``newsburst loadtest`` on a window of the spike trace scaled to what 2 cores can serve: real
    container processes on loopback; the planner's P99 and cold-start count against it.

    python bench/warmpool_validate.py [--profile build/warmpool/profile.json] [--part simfaas|loadtest|both]
                                      [--bundle build/bundles/student] [--endpoint-bundle build/bundles/teacher]
                                      [--json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.runtime.bundle import STUDENT_DIR, TEACHER_DIR  # noqa: E402
from functions.tables import emit  # noqa: E402
from ops.lambda_model import ServiceProfile  # noqa: E402
from ops.simulate import simulate  # noqa: E402
from ops.strategies import OnDemand  # noqa: E402
from ops.traces import Trace, parse_window, read_trace  # noqa: E402

ONE_VCPU_MB = 1769  # the profile's one-thread figures as they are
# (arrival rate /s, idle expiry s): from a cold start in most requests to a few in a thousand
SIMFAAS_CASES = ((0.02, 30.0), (0.1, 20.0), (0.5, 10.0), (2.0, 5.0), (1.0, 60.0))
SIMFAAS_HOURS = 12.0


def rel_error(ours: float, reference: float) -> float:
    return round(100 * (ours - reference) / reference, 1) if reference else float("nan")


def against_simfaas(profile: ServiceProfile, seed: int = 0) -> list[dict]:
    from simfaas.ServerlessSimulator import ServerlessSimulator
    from simfaas.SimProcess import ExpSimProcess, SimProcess

    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # simfaas draws its arrivals from numpy's global generator: one run, one answer
    warm, init = profile.service_s[1], profile.init_s

    class Drawn(SimProcess):
        """Draws from the same measured samples the planner uses; cold = INIT + service."""

        def __init__(self, cold: bool) -> None:
            super().__init__()
            self.cold = cold

        def generate_trace(self) -> float:
            service = warm[rng.integers(len(warm))]
            return service + (init[rng.integers(len(init))] if self.cold else 0.0)

    rows = []
    horizon = SIMFAAS_HOURS * 3600
    for rate, expiry in SIMFAAS_CASES:
        reference = ServerlessSimulator(
            arrival_process=ExpSimProcess(rate=rate),
            warm_service_process=Drawn(cold=False),
            cold_service_process=Drawn(cold=True),
            expiration_threshold=expiry,
            max_time=horizon,
        )
        reference.generate_trace(debug_print=False, progress=False)
        theirs = reference.get_result_dict()
        arrivals = np.cumsum(np.random.default_rng(seed + 1).exponential(1 / rate, int(rate * horizon * 1.2)))
        trace = Trace(f"poisson {rate}/s", arrivals[arrivals < horizon], horizon)
        ours = simulate(trace, OnDemand(idle_expiry_s=expiry), profile, ONE_VCPU_MB, seed=seed)
        cold = ours.cold_starts / len(ours.latencies_s)
        rows.append(
            {
                "rate_per_s": rate,
                "idle_expiry_s": expiry,
                "cold_pct_simfaas": round(100 * theirs["prob_cold"], 2),
                "cold_pct_planner": round(100 * cold, 2),
                "cold_err_pct": rel_error(cold, theirs["prob_cold"]),
                "mean_envs_simfaas": round(theirs["inst_count_avg"], 3),
                "mean_envs_planner": round(ours.mean_environments, 3),
                "envs_err_pct": rel_error(ours.mean_environments, theirs["inst_count_avg"]),
            }
        )
    return rows


def against_loadtest(profile: ServiceProfile, args: argparse.Namespace) -> dict:
    from ops.loadtest import LoadtestInputs, loadtest

    start, end = parse_window(args.window)
    trace = read_trace(ROOT / "events" / "traces" / "spike.json").window(start, end).scaled(args.scale)
    inputs = LoadtestInputs(
        trace, args.bundle, args.endpoint_bundle, args.idle_expiry, args.containers, 1, args.repeat,
        max_requests=10_000, max_seconds=end - start,
    )  # fmt: skip
    measured = loadtest(inputs)
    hit_rate = measured["cache_hits"] / max(1, measured["completed"])
    runs = [
        simulate(trace, OnDemand(args.idle_expiry), profile, ONE_VCPU_MB, args.containers, hit_rate, seed=s)
        for s in range(args.seeds)
    ]
    p99 = statistics.mean(r.percentile_ms(99) for r in runs)
    p50 = statistics.mean(r.percentile_ms(50) for r in runs)
    cold = statistics.mean(r.cold_starts for r in runs)
    return {
        "trace": trace.name,
        "scale": args.scale,
        "requests": measured["requests"],
        "containers": args.containers,
        "rows": [
            {
                "source": "loadtest (real processes)",
                "p50_ms": measured["p50_ms"],
                "p99_ms": measured["p99_ms"],
                "cold_starts": measured["cold_starts"],
                "cache_hits": measured["cache_hits"],
                "escalations": measured["escalations"],
                "throttled": measured["throttled"],
            },
            {
                "source": f"planner (mean of {args.seeds} seeds)",
                "p50_ms": round(p50, 1),
                "p99_ms": round(p99, 1),
                "cold_starts": round(cold, 1),
                "throttled": round(statistics.mean(r.throttles for r in runs), 1),
            },
        ],
        "p99_err_pct": rel_error(p99, measured["p99_ms"]),
        "cold_start_err_pct": rel_error(cold, measured["cold_starts"]),
        "loadtest": measured,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=Path, default=ROOT / "build/warmpool/profile.json")
    parser.add_argument("--part", choices=["simfaas", "loadtest", "both"], default="both")
    parser.add_argument("--bundle", type=Path, default=ROOT / STUDENT_DIR)
    parser.add_argument("--endpoint-bundle", type=Path, default=ROOT / TEACHER_DIR)
    parser.add_argument("--window", default="9:14", help="minutes of the spike trace replayed (default 9:14)")
    parser.add_argument("--scale", type=float, default=0.5, help="rate multiplier for 2 cores (default 0.5)")
    parser.add_argument("--containers", type=int, default=2)
    parser.add_argument("--idle-expiry", type=float, default=60.0)
    parser.add_argument("--repeat", type=float, default=0.2)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    profile = ServiceProfile.read(args.profile)
    result: dict = {"profile": str(args.profile)}
    if args.part in ("simfaas", "both"):
        result["simfaas"] = against_simfaas(profile)
    if args.part in ("loadtest", "both"):
        result["loadtest"] = against_loadtest(profile, args)
    if args.json:
        emit(result, [], True)
        return 0
    if "simfaas" in result:
        emit(
            result,
            result["simfaas"],
            False,
            f"planner vs SimFaaS, on-demand, Poisson arrivals, {SIMFAAS_HOURS:.0f} h each",
        )
        print()
    if "loadtest" in result:
        lt = result["loadtest"]
        title = f"planner vs load test: {lt['trace']} x{lt['scale']}, {lt['requests']} requests"
        title += f", {lt['containers']} containers"
        emit(result, lt["rows"], False, title)
        print(f"planner error: P99 {lt['p99_err_pct']:+.1f}%, cold starts {lt['cold_start_err_pct']:+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
