"""``newsburst warmpool plan|apply|profile`` and ``newsburst loadtest``: parsers and commands.

The heavy parts (simpy, matplotlib, the fleet) are imported when a command runs, so the
``newsburst`` parser stays light.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from functions.runtime.bundle import STUDENT_DIR
from functions.tables import emit
from ops.fleet import ContainerError

WORK = Path("build/warmpool")
PROFILE = WORK / "profile.json"
PLAN = WORK / "plan.json"
UNGATED_HELP = "time a student that did not pass the export's quality gate (speed does not depend on it)"
TRACE_HELP = (
    "an Azure Functions 2019 invocations file (.csv, e.g. ../shared/traces/azure-functions-2019/sample-5/"
    "invocations.csv) or a newsburst trace (.json with bin_s + counts, or arrivals_s; see events/traces/)"
)


def register(sub: argparse._SubParsersAction) -> tuple[type[Exception], ...]:
    """Adds ``warmpool`` and ``loadtest``; a container that fails to start is the user's to fix."""
    from ops.prices import PRICES_AS_OF, Prices

    warm = sub.add_parser(
        "warmpool",
        help="plan the warm pool: simulate each strategy on a trace, recommend the cheapest that meets a P99",
        description="Ops tools for the Lambda warm pool: `profile` measures cold start and service time here, "
        "`plan` simulates every strategy on a trace with that profile, `apply` prints the SAM overrides.",
    )
    steps = warm.add_subparsers(dest="step", required=True, metavar="STEP")

    p = steps.add_parser(
        "profile",
        help="measure cold start, service time (1 and 2 threads), batching and cache hits through the entry point",
        description="Start fresh container processes (python -m ops.container) on the bundle and time, through "
        "functions.handlers.router: the INIT (spawn to ready), one item per invocation at each ORT thread count "
        "over real articles of different lengths, SQS batches, and cache hits. Writes the profile the planner reads.",
    )
    p.add_argument("--bundle", type=Path, default=STUDENT_DIR, help=f"bundle folder (default {STUDENT_DIR})")
    p.add_argument("--articles", type=Path, help="JSONL with id and article (default: the Lee/ABC corpus)")
    p.add_argument("--n-articles", type=int, default=12, help="articles timed per thread count (default 12)")
    p.add_argument("--cold-runs", type=int, default=3, help="fresh processes timed (default 3)")
    p.add_argument("--allow-ungated", action="store_true", help=UNGATED_HELP)
    p.add_argument("--out", type=Path, default=PROFILE, help=f"profile JSON to write (default {PROFILE})")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_profile)

    p = steps.add_parser(
        "plan",
        help="simulate on-demand, provisioned, target tracking, scheduled, SnapStart and warmers on a trace",
        description="A discrete-event simulation (simpy) of the function's fleet serving the trace under each "
        "strategy and size, with the measured service profile. Prints the best of each strategy (P50/P99, "
        "cold-start share, spillover, throttles, monthly cost), writes every run to --out and a cost-vs-P99 "
        f"plot to --plot, and recommends the cheapest that meets --p99-target. Default prices: {PRICES_AS_OF}.",
    )
    _trace_arguments(p)
    p.add_argument("--p99-target", type=float, default=2000.0, help="P99 latency target, ms (default 2000)")
    p.add_argument("--profile", type=Path, default=PROFILE, help=f"service profile JSON (default {PROFILE})")
    p.add_argument(
        "--memory",
        default="3008",
        help="function memory in MB, or 'auto' to sweep 1,024..10,240 MB and report the cost-optimal size per "
        "strategy (default 3008, the template's)",
    )
    p.add_argument("--idle-expiry", type=float, default=600.0, help="seconds an idle environment lives (default 600)")
    p.add_argument("--utilization", type=float, default=0.7, help="target-tracking utilization target (default 0.7)")
    p.add_argument(
        "--snapstart-restore-s",
        type=float,
        default=0.5,
        help="SnapStart restore time in s (not measurable off AWS; default 0.5)",
    )
    p.add_argument("--concurrency-limit", type=int, default=1000, help="reserved or account concurrency (1000)")
    p.add_argument("--hit-rate", type=float, default=0.0, help="share of invocations answered from the cache")
    p.add_argument("--batch-size", type=int, default=1, help="items per invocation (SQS batch size; default 1)")
    p.add_argument(
        "--max-invocations",
        type=int,
        default=100_000,
        help="thin a larger trace to this many invocations (the table says so; default 100000)",
    )
    Prices.add_arguments(p)
    p.add_argument("--plot", type=Path, default=WORK / "plan.png", help="cost-vs-P99 PNG (default build/warmpool)")
    p.add_argument("--out", type=Path, default=PLAN, help=f"every run as JSON, for `apply` (default {PLAN})")
    p.set_defaults(func=_cmd_plan)

    p = steps.add_parser(
        "apply",
        help="print the SAM parameter overrides for the plan's recommendation",
        description="Read the plan written by `newsburst warmpool plan` and print the `sam deploy "
        "--parameter-overrides` for its recommendation (or for --pick N, a row of its JSON).",
    )
    p.add_argument("--plan", type=Path, default=PLAN, help=f"plan JSON (default {PLAN})")
    p.add_argument("--pick", type=int, help="apply row N of the plan's rows instead of the recommendation")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=_cmd_apply)

    p = sub.add_parser(
        "loadtest",
        help="replay a trace against the local stack: container processes, response cache, GPU endpoint",
        description="Replay a trace on loopback with real processes: Lambda-like containers (python -m "
        "ops.container; each pays a real cold start and exits after its idle expiry) running the handler on "
        "EventBridge events, the shared response cache, and the GPU endpoint server for escalations. Reports "
        "P50/P95/P99, cold starts, cache hits, escalations, fallbacks and dead letters. Bounded by "
        "--max-requests and --max-seconds.",
    )
    _trace_arguments(p)
    p.add_argument("--bundle", type=Path, default=STUDENT_DIR, help=f"bundle folder (default {STUDENT_DIR})")
    p.add_argument("--endpoint-bundle", type=Path, help="serve escalations from this bundle (e.g. the teacher)")
    p.add_argument("--containers", type=int, default=2, help="concurrency limit: at most this many (default 2)")
    p.add_argument("--threads", type=int, default=1, help="ORT threads per container (default 1)")
    p.add_argument("--idle-expiry", type=float, default=60.0, help="seconds before an idle container exits (60)")
    p.add_argument("--repeat", type=float, default=0.0, help="share of items repeating an earlier article")
    p.add_argument("--articles", type=Path, help="JSONL with id and article (default: the Lee/ABC corpus)")
    p.add_argument("--max-requests", type=int, default=200, help="send at most this many (default 200)")
    p.add_argument("--max-seconds", type=float, default=300.0, help="send for at most this long (default 300)")
    p.add_argument("--allow-ungated", action="store_true", help=UNGATED_HELP)
    p.set_defaults(func=_cmd_loadtest)
    return (ContainerError,)


def _trace_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trace", type=Path, required=True, help=TRACE_HELP)
    p.add_argument("--function", help="Azure trace: a HashFunction (or a unique prefix); default the busiest")
    p.add_argument("--window", help="only minutes START:END of the trace, e.g. 9:14")
    p.add_argument("--scale", type=float, help="multiply the trace's rate (thinning below 1)")
    p.add_argument("--seed", type=int, default=0, help="seeds the arrivals within a bin and the draws (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def load_trace(args: argparse.Namespace, max_invocations: int | None = None):
    """The trace as the command asked for it: windowed, scaled, thinned to a bound."""
    from ops.plan import fit_scale
    from ops.traces import parse_window, read_trace

    trace = read_trace(args.trace, args.function, args.seed)
    if args.window:
        trace = trace.window(*parse_window(args.window))
    if args.scale:
        trace = trace.scaled(args.scale, args.seed)
    if max_invocations and (fit := fit_scale(trace, max_invocations)) < 1:
        print(f"note: {trace.invocations} invocations; simulated at {fit:.4g}x the rate (--max-invocations)",
              file=sys.stderr)  # fmt: skip
        trace = trace.scaled(fit, args.seed)
    return trace


def _cmd_profile(args: argparse.Namespace) -> int:
    from ops.profile import measure_profile

    profile = measure_profile(
        args.bundle, args.articles, args.n_articles, args.cold_runs, allow_ungated=args.allow_ungated
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(profile.to_json(), indent=1))
    rows = [{"measure": "init (cold start) s", **_stats(profile.init_s)}]
    rows += [{"measure": f"service s, {t} thread(s)", **_stats(v)} for t, v in profile.service_s.items()]
    rows += [{"measure": "prompt tokens", **_stats(profile.tokens_in)}]
    rows += [{"measure": "summary tokens", **_stats(profile.tokens_out)}]
    intercept, slope = profile.length_fit()
    rows += [{"measure": "service s per 100 prompt tokens (fit)", "median": round(100 * slope, 4)}]
    rows += [{"measure": "service s at 0 tokens (fit)", "median": round(intercept, 4)}]
    rows += [{"measure": f"batch of {b}: s per item", "median": v} for b, v in profile.batch_s_per_item.items()]
    rows += [{"measure": "cache hit s", "median": profile.hit_s}]
    emit(
        {"profile": profile.to_json(), "out": str(args.out)},
        rows,
        args.json,
        f"service profile of {args.bundle} -> {args.out}",
    )
    return 0


def _stats(values: list[float]) -> dict:
    import statistics

    return {"median": round(statistics.median(values), 4), "min": min(values), "max": max(values), "n": len(values)}


def _cmd_plan(args: argparse.Namespace) -> int:
    from ops.lambda_model import MEMORY_SWEEP_MB, ServiceProfile
    from ops.plan import PlanInputs, plan, plot
    from ops.prices import Prices

    memories = MEMORY_SWEEP_MB if args.memory == "auto" else (_memory(args.memory),)
    trace = load_trace(args, args.max_invocations)
    prices = Prices.from_args(args)
    inputs = PlanInputs(
        trace, ServiceProfile.read(args.profile), args.p99_target, memories, prices, args.idle_expiry,
        args.utilization, args.snapstart_restore_s, args.concurrency_limit, args.hit_rate, args.batch_size, args.seed,
    )  # fmt: skip
    result = plan(inputs)
    title = (
        f"trace {trace.name}: {trace.invocations} invocations over {trace.duration_s / 3600:.1f} h "
        f"(x{trace.scale:.4g} of the source), peak {trace.peak_rate():.2f}/s; P99 target {args.p99_target:.0f} ms"
    )
    plot(result, args.p99_target, args.plot, title)
    best = result["recommendation"]
    out = {
        "trace": trace.name,
        "invocations": trace.invocations,
        "scale": trace.scale,
        "duration_s": trace.duration_s,
        "p99_target_ms": args.p99_target,
        "profile": str(args.profile),
        "plot": str(args.plot),
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    if args.json:
        emit(out, [], True)
        return 0
    columns = ("strategy", "config", "memory_mb", "measured_memory", "p50_ms", "p99_ms", "cold_pct", "spillover",
               "throttles", "mean_environments", "monthly_usd", "usd_per_1k_summaries", "meets_target")  # fmt: skip
    emit(out, [{c: r[c] for c in columns} for r in result["by_strategy"]], False,
         title + "\nbest of each strategy (cheapest meeting the target, else lowest P99):")  # fmt: skip
    if len(memories) > 1:
        print()
        emit(out, [{c: r[c] for c in columns} for r in result["by_memory"]], False,
             "best at each memory size (Lambda gives 1 vCPU per 1,769 MB; measured_memory: 1 or 2 vCPUs, "
             "as measured here; other sizes modelled):")  # fmt: skip
    verdict = "meets" if best["meets_target"] else "NO strategy meets the target; lowest P99:"
    print(f"\nrecommendation ({verdict}): {best['config']} at {best['memory_mb']} MB, P99 {best['p99_ms']:.0f} ms, "
          f"${best['monthly_usd']:.2f}/month, ${best['usd_per_1k_summaries']:.4f} per 1,000 summaries")  # fmt: skip
    print(f"plot: {args.plot}   all runs: {args.out}   next: newsburst warmpool apply --plan {args.out}")
    return 0


def _memory(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--memory takes MB (128..10240) or 'auto', got {text!r}") from None


def _cmd_apply(args: argparse.Namespace) -> int:
    from ops.sam_overrides import command, overrides

    try:
        data = json.loads(args.plan.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{args.plan}: no plan; run `newsburst warmpool plan --trace ...` first") from None
    row = data["recommendation"] if args.pick is None else data["rows"][args.pick]
    params = overrides(row)
    if args.json:
        emit({"row": row, "parameter_overrides": params, "command": command(params)}, [], True)
        return 0
    print(f"# {row['config']} at {row['memory_mb']} MB: P99 {row['p99_ms']:.0f} ms, ${row['monthly_usd']:.2f}/month "
          f"on {data['trace']} (target {data['p99_target_ms']:.0f} ms)")  # fmt: skip
    print(command(params))
    return 0


def _cmd_loadtest(args: argparse.Namespace) -> int:
    from ops.loadtest import LoadtestInputs, loadtest

    inputs = LoadtestInputs(
        load_trace(args), args.bundle, args.endpoint_bundle, args.idle_expiry, args.containers, args.threads,
        args.repeat, args.articles, args.max_requests, args.max_seconds, args.seed, args.allow_ungated,
    )  # fmt: skip
    result = loadtest(inputs)
    columns = ("requests", "completed", "p50_ms", "p95_ms", "p99_ms", "cold_starts", "cache_hits", "escalations",
               "fallbacks", "dlq", "throttled", "peak_containers", "wall_s")  # fmt: skip
    emit(
        result,
        [{c: result[c] for c in columns}],
        args.json,
        f"load test: {inputs.trace.name} on {args.containers} containers",
    )
    return 0
