"""GPU endpoint throughput and tail latency at concurrency 1, 4, 16 and 64.

Starts the endpoint server (``functions.endpoint.server``) as its own process on loopback,
with the CUDA provider when onnxruntime-gpu and a GPU are present and the CPU provider
otherwise, then keeps C requests in flight (one real-length news item each) and reports
generated tokens/s, items/s, P50/P99 latency, the largest dynamic batch and any 429s, and
which provider ran; the JSON also goes to build/bench/gpu_endpoint.json, which bench/cost.py
reads. The bundle is the float16 CUDA teacher when the export wrote one
(``newsburst export --gpu-teacher``), else the int8 teacher.

    python bench/gpu_endpoint.py [--bundle build/bundles/teacher-cuda] [--levels 1,4,16,64] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np
import urllib3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.endpoint.launch import endpoint_process  # noqa: E402
from functions.runtime.bundle import TEACHER_CUDA, TEACHER_DIR  # noqa: E402
from functions.tables import emit  # noqa: E402
from model_export.corpus import load_articles  # noqa: E402

OUT = ROOT / "build" / "bench" / "gpu_endpoint.json"


def level(url: str, bodies: list[str], concurrency: int, requests: int, new_tokens: int) -> dict:
    http = urllib3.PoolManager(maxsize=concurrency)
    latencies, tokens, statuses = [], [], []
    next_index = iter(range(requests))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            payload = {
                "items": [{"id": f"b{i}", "body": bodies[i % len(bodies)]}],
                "parameters": {"max_new_tokens": new_tokens},
            }
            start = time.perf_counter()
            resp = http.request("POST", f"{url}/invocations", body=json.dumps(payload), retries=False, timeout=120,
                                headers={"Content-Type": "application/json"})  # fmt: skip
            with lock:
                statuses.append(resp.status)
                if resp.status == 200:
                    latencies.append(time.perf_counter() - start)
                    tokens.append(resp.json()["results"][0]["tokens_out"])

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ping = http.request("GET", f"{url}/ping").json()
    return {
        "concurrency": concurrency,
        "requests": requests,
        "tokens_per_s": round(sum(tokens) / wall, 1),
        "items_per_s": round(len(latencies) / wall, 2),
        "p50_s": round(float(np.percentile(latencies, 50)), 2),
        "p99_s": round(float(np.percentile(latencies, 99)), 2),
        "largest_batch": ping["largest_batch"],
        "http_429": statuses.count(429),
        "provider": ping["provider"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    gpu_bundle = ROOT / TEACHER_DIR.with_name(TEACHER_CUDA)
    parser.add_argument("--bundle", type=Path, default=gpu_bundle if gpu_bundle.exists() else ROOT / TEACHER_DIR)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--levels", default="1,4,16,64")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    bodies = [a.text for a in load_articles()[:32]]
    with endpoint_process(args.bundle, quiet=True) as url:  # loopback only: no secret
        rows = [level(url, bodies, c, max(8, 2 * c), args.new_tokens) for c in (int(x) for x in args.levels.split(","))]
    base = rows[0]["tokens_per_s"]
    for r in rows:
        r["x_concurrency_1"] = round(r["tokens_per_s"] / base, 2)
    provider = rows[0]["provider"]
    result = {"bundle": str(args.bundle), "new_tokens": args.new_tokens, "provider": provider, "rows": rows}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    emit(result, rows, args.json, f"GPU endpoint bench: {args.bundle.name} bundle, {args.new_tokens} new tokens/item")
    if not args.json:
        print(f"provider that ran: {provider}" + ("" if provider.startswith("CUDA") else " (no GPU here: CPU rows)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
