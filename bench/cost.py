"""What one summary costs: on the Lambda at each memory size, on the GPU endpoint, and bought from a
managed API; then what the response cache and story reuse saved on the breaking-news burst.

Every figure is a measurement priced by a parameter:
- the Lambda: the service profile's warm seconds per item (`newsburst warmpool profile`; 1 and 2
  vCPUs measured, other sizes modelled as the planner does) and its summary lengths, at Lambda's
  list prices (`--price-*`, as the planner takes them). Cold starts and warm pools are not in
  these rows: `newsburst warmpool plan` prints the same unit price with them, for a trace.
- the GPU endpoint: the highest throughput `python bench/gpu_endpoint.py` measured without a 429,
  at an instance's hourly price (`--gpu-hourly`), kept busy. Where no GPU was lent, the bench
  ran the CPU provider and the row says so.
- a managed API: the profile's mean prompt and summary tokens (our tokenizer's count) at a list
  price per million tokens (`--api-input-per-m`, `--api-output-per-m`; dated defaults).
- the burst: `python bench/stories.py`'s billed seconds per mode, at `--burst-memory` (its
  containers ran one ORT thread: a 1-vCPU Lambda's share), beside the same burst with no cache,
  estimated as every item costing the exact-cache mode's mean billed model run.

    python bench/cost.py [--profile build/warmpool/profile.json] [--gpu-bench build/bench/gpu_endpoint.json]
                         [--stories-bench build/bench/stories.json] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.tables import emit  # noqa: E402
from ops.commands import PROFILE  # noqa: E402
from ops.cost import api_item_usd, endpoint_item_usd, lambda_usd, per_thousand  # noqa: E402
from ops.lambda_model import MB_PER_VCPU, MEMORY_SWEEP_MB, ServiceProfile  # noqa: E402
from ops.prices import GPU_HOURLY_USD, GPU_PRICE_AS_OF, PRICES_AS_OF, ApiPrice, Prices  # noqa: E402

BENCH = ROOT / "build" / "bench"


def _read(path: Path, how: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"{path}: not measured yet; run `{how}` first (or pass its JSON)") from None


def lambda_rows(profile: ServiceProfile, prices: Prices) -> list[dict]:
    tokens_out = profile.mean_tokens_out
    rows = []
    for memory in MEMORY_SWEEP_MB:
        seconds = profile.one_thread_s(memory)
        rows.append({
            "way": "Lambda, model run", "size": f"{memory} MB", "s_per_summary": round(seconds, 3),
            **per_thousand(lambda_usd(seconds, memory, prices), tokens_out),
            "basis": "measured" if profile.measured(memory) else "modelled",
        })  # fmt: skip
    rows.append({
        "way": "Lambda, cache or story hit", "size": f"{MB_PER_VCPU} MB", "s_per_summary": profile.hit_s,
        **per_thousand(lambda_usd(profile.hit_s, MB_PER_VCPU, prices), tokens_out), "basis": "measured",
    })  # fmt: skip
    return rows


def endpoint_row(bench: dict, hourly: float) -> dict:
    ok = [r for r in bench["rows"] if r["http_429"] == 0 and r["items_per_s"] > 0]
    if not ok:
        raise SystemExit("the GPU endpoint bench has no level without 429s: nothing to price")
    best = max(ok, key=lambda r: r["items_per_s"])
    provider = best["provider"]
    return {
        "way": "GPU endpoint", "size": f"{hourly:g} USD/h", "s_per_summary": round(1 / best["items_per_s"], 3),
        **per_thousand(endpoint_item_usd(hourly, best["items_per_s"]), best["tokens_per_s"] / best["items_per_s"]),
        "basis": f"{provider} at concurrency {best['concurrency']}"
        + ("" if provider.startswith("CUDA") else " (no GPU lent: a CPU figure)"),
    }  # fmt: skip


def api_row(profile: ServiceProfile, price: ApiPrice) -> dict:
    tokens_in = sum(profile.tokens_in) / len(profile.tokens_in)
    tokens_out = profile.mean_tokens_out or 0.0
    return {
        "way": "managed API", "size": f"{price.input_per_m:g}/{price.output_per_m:g} USD per M in/out",
        "s_per_summary": None, **per_thousand(api_item_usd(tokens_in, tokens_out, price), tokens_out),
        "basis": f"{tokens_in:.0f} in, {tokens_out:.0f} out; {price.as_of}",
    }  # fmt: skip


def burst_rows(stories: dict, memory: int, prices: Prices) -> list[dict]:
    """Each measured mode's bill for the burst, and the burst with no cache at all (estimated)."""
    modes = {m["mode"]: m for m in stories["modes"]}
    exact = modes["exact cache only"]
    per_run = exact["billed_model_s"] / exact["model_runs"]
    no_cache = {"mode": "no cache (estimated)", "items": exact["items"], "model_runs": exact["items"],
                "billed_s": round(per_run * exact["items"], 2)}  # fmt: skip
    rows = []
    for mode in (no_cache, exact, modes["story reuse"]):
        usd = lambda_usd(mode["billed_s"], memory, prices, invocations=mode["items"])
        rows.append({k: mode[k] for k in ("mode", "items", "model_runs", "billed_s")} | {"usd": usd})
    base = rows[0]["usd"]
    for row in rows:
        row["usd_per_1k_summaries"] = round(row["usd"] / row["items"] * 1000, 4)
        row["saved_vs_no_cache_pct"] = round(100 * (1 - row["usd"] / base), 1)
        row["usd"] = round(row["usd"], 6)
    return rows


def _readable(row: dict) -> dict:
    """Dollar figures with three significant figures in the table (the JSON keeps them whole)."""
    return {k: f"{v:.3g}" if k.startswith("usd") and isinstance(v, float) else v for k, v in row.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=Path, default=ROOT / PROFILE, help="service profile JSON")
    parser.add_argument("--gpu-bench", type=Path, default=BENCH / "gpu_endpoint.json")
    parser.add_argument("--stories-bench", type=Path, default=BENCH / "stories.json")
    parser.add_argument("--gpu-hourly", type=float, default=GPU_HOURLY_USD, help=f"USD/h ({GPU_PRICE_AS_OF})")
    default_api = ApiPrice()
    parser.add_argument("--api-input-per-m", type=float, default=default_api.input_per_m, help="USD per M tokens")
    parser.add_argument("--api-output-per-m", type=float, default=default_api.output_per_m, help="USD per M tokens")
    parser.add_argument("--api-as-of", default=default_api.as_of, help="what the API price is, and when read")
    parser.add_argument("--burst-memory", type=int, default=MB_PER_VCPU, help="MB the burst is billed at")
    Prices.add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)
    prices = Prices.from_args(args)
    try:
        profile = ServiceProfile.read(args.profile)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    gpu = _read(args.gpu_bench, "python bench/gpu_endpoint.py")
    stories = _read(args.stories_bench, "python bench/stories.py")
    api = ApiPrice(args.api_input_per_m, args.api_output_per_m, args.api_as_of)
    ways = [*lambda_rows(profile, prices), endpoint_row(gpu, args.gpu_hourly), api_row(profile, api)]
    burst = burst_rows(stories, args.burst_memory, prices)
    result = {
        "prices": {"lambda": PRICES_AS_OF, "gpu": f"{args.gpu_hourly} USD/h", "api": api.as_of},
        "profile": profile.source,
        "gpu_bundle": gpu["bundle"],
        "burst_memory_mb": args.burst_memory,
        "ways": ways,
        "burst": burst,
    }
    if args.json:
        emit(result, [], True)
        return 0
    emit(result, [_readable(w) for w in ways], False, f"one summary, each way of making it (Lambda: {PRICES_AS_OF}):")
    print()
    title = f"the burst of bench/stories.py ({stories['arrivals']}), billed at {args.burst_memory} MB:"
    emit(result, [_readable(b) for b in burst], False, title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
