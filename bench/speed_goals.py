"""Issue 13's speed goals, each measured side by side in one run, with its target beside it.

Runs every speed bench once, each as its own process with ``--json`` (run one alone for its
full table), keeps their results in ``build/bench/speed-goals.json`` and prints one row per
goal: what was measured, the target, and whether it is met. Use an idle machine: the benches
time real work on every core.

    python bench/speed_goals.py [--bundles build/bundles] [--student-hf DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.runtime.bundle import BUNDLES_DIR, STUDENT, TEACHER, TEACHER_CUDA  # noqa: E402
from functions.tables import emit  # noqa: E402

OUT = ROOT / "build" / "bench" / "speed-goals.json"


def run_bench(script: str, *args: str) -> dict:
    """One bench as its own process; its progress goes to the terminal, its JSON comes back."""
    print(f"running bench/{script} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args, "--json"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{") and '"_aws"' not in line]
    return {**json.loads(lines[-1]), "bench_seconds": round(time.perf_counter() - start)}


def _row(goal: str, measured: str, target: str, met: bool | str) -> dict:
    return {
        "goal": goal,
        "measured": measured,
        "target": target,
        "met": met if isinstance(met, str) else ("yes" if met else "no"),
    }


def goal_rows(results: dict) -> list[dict]:
    cold = {r["path"].split(" (")[0]: r for r in results["cold_start"]["rows"]}
    entry = cold["entry point"]["first_token_s"]
    torch = cold.get("torch + transformers", {}).get("first_token_s")
    prefill = [r for r in results["prefill"]["rows"] if r["lm_head"] == "last position"]
    checks = results["decode"]["sweep_checks"]
    burst = results["burst"]["modes"][0]["x_one_by_one"]
    gpu = results["gpu_endpoint"]
    on_gpu = gpu["provider"].startswith("CUDA")
    best_gpu = max(gpu["rows"], key=lambda r: r["tokens_per_s"])
    return [
        _row("1. cold start, entry point to first token", f"{entry:.3f} s", "<= 0.5 s", entry <= 0.5),
        _row(
            "1. cold start vs torch + transformers",
            f"{torch / entry:.1f}x" if torch else "no torch row",
            ">= 10x",
            bool(torch) and torch / entry >= 10,
        ),
        *(
            _row(
                f"2. prefill at {r['prompt_tokens']} tokens vs head on every position",
                f"{r['x_every_position']:.2f}x, peak RSS {r['rss_vs_every_position']:.2f}x",
                ">= 1.4x, RSS < 1x",
                r["x_every_position"] >= 1.4 and r["rss_vs_every_position"] < 1,
            )
            for r in prefill
        ),
        _row(
            "3. decode at 1,024 prompt tokens vs 256",
            f"{checks['decode_1024_over_256']:.2f}x (at 1,024: {checks['decode_1024_shared_over_copied']:.2f}x "
            "the cache copied each step)",
            ">= 0.8x",
            checks["decode_1024_over_256"] >= 0.8,
        ),
        _row(
            "3. batched tokens equal one by one",
            str(checks["batched_equals_one_by_one"]),
            "True",
            checks["batched_equals_one_by_one"],
        ),
        _row("4. burst through the SQS handler vs one by one", f"{burst:.2f}x", ">= 1.5x", burst >= 1.5),
        _row(
            "5. GPU endpoint bench, provider that ran",
            f"{gpu['provider']}, best {best_gpu['tokens_per_s']} tok/s at concurrency {best_gpu['concurrency']}",
            "CUDAExecutionProvider",
            on_gpu or "no GPU here: CPU rows",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", type=Path, default=ROOT / BUNDLES_DIR, help="holds student/ and teacher/")
    parser.add_argument("--student-hf", help="passed to bench/cold_start.py (the torch row's student folder)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import onnxruntime

    student = str(args.bundles / STUDENT)
    gpu_bundle = next(b for b in (args.bundles / TEACHER_CUDA, args.bundles / TEACHER) if b.exists())
    gpu_levels = "1,4,16,64" if "CUDAExecutionProvider" in onnxruntime.get_available_providers() else "1,4"
    torch_row = ["--student-hf", args.student_hf] if args.student_hf else []
    results = {
        "cold_start": run_bench("cold_start.py", "--bundle", student, *torch_row),
        "prefill": run_bench("prefill.py", "--bundle", student),
        "decode": run_bench("decode.py", "--bundles", str(args.bundles), "--sweep"),
        "burst": run_bench("burst.py", "--bundle", student),
        "gpu_endpoint": run_bench("gpu_endpoint.py", "--bundle", str(gpu_bundle), "--levels", gpu_levels),
    }
    rows = goal_rows(results)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"bundles": str(args.bundles), "goals": rows, "benches": results}, indent=1) + "\n")
    emit({"goals": rows, "benches": results}, rows, args.json, f"speed goals (issue 13), {args.bundles}")
    if not args.json:
        print(f"each bench's full result: {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
