"""Burst: 200 news items (30% repeats) through the SQS handler path, batched vs one by one.

Each mode starts from an empty local response cache and the same shuffled burst, sent as
SQS events of 10 records to the deployed entry point in-process. Then the cache-hit latency
is measured for the local folder cache and for S3 on moto's server over loopback HTTP.

    python bench/burst.py [--items 200] [--repeat 0.3] [--bundle build/bundles/student] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.app import App  # noqa: E402
from functions.config import Settings  # noqa: E402
from functions.handlers import router  # noqa: E402
from functions.local_invoke import LocalContext  # noqa: E402
from functions.schemas import NewsItem  # noqa: E402
from functions.tables import emit  # noqa: E402
from model_export.corpus import load_articles  # noqa: E402
from tests.factories import sqs_event  # noqa: E402


def burst(n: int, repeat: float, seed: int = 0) -> list[dict]:
    """Unique Lee/ABC articles, then repeats of earlier ones under new ids (wire copies), shuffled."""
    rng = random.Random(seed)
    unique = [
        {"id": f"lee-{a.id}", "title": a.text[:60], "body": a.text} for a in load_articles()[: round(n * (1 - repeat))]
    ]
    repeats = [dict(rng.choice(unique), id=f"copy-{i}") for i in range(n - len(unique))]
    items = unique + repeats
    rng.shuffle(items)
    return items


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_mode(items: list[dict], settings: Settings) -> dict:
    router.use(App.from_settings(settings))
    failures = 0
    start = time.perf_counter()
    for at in range(0, len(items), 10):
        chunk = items[at : at + 10]
        failures += len(router.handler(sqs_event([json.dumps(i) for i in chunk]), LocalContext())["batchItemFailures"])
    wall = time.perf_counter() - start
    notes = [json.loads(line) for line in settings.outbox_path.read_text().splitlines()]
    latencies = [n["latency_ms"] for n in notes]
    return {
        "items_per_s": round(len(items) / wall, 2),
        "wall_s": round(wall, 1),
        "p50_ms": round(pct(latencies, 50), 1),
        "p95_ms": round(pct(latencies, 95), 1),
        "p99_ms": round(pct(latencies, 99), 1),
        "cache_hits": sum(n["cache_hit"] for n in notes),
        "failed": failures,
    }


def hit_latency(settings: Settings, items: list[dict], samples: int = 50) -> dict:
    """Milliseconds for a pipeline answer that is a cache hit (warm container)."""
    app = App.from_settings(settings)
    parsed = [NewsItem.model_validate(i) for i in items[:samples]]
    app.pipeline.run(parsed)  # fill the cache (and load the model once)
    times = []
    for item in parsed:
        start = time.perf_counter()
        (result,) = app.pipeline.run([item])
        times.append((time.perf_counter() - start) * 1000)
        assert result.cache_hit
    return {"median_ms": round(statistics.median(times), 2), "p95_ms": round(pct(times, 95), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--repeat", type=float, default=0.3, help="share of items that repeat an earlier article")
    parser.add_argument("--bundle", type=Path, default=ROOT / "build/bundles/student")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    items = burst(args.items, args.repeat)
    work = Path(tempfile.mkdtemp(prefix="newsburst-burst-"))
    import logging

    logging.disable(logging.INFO)  # Powertools' per-item logs would dominate the terminal

    def settings(name: str, **extra) -> Settings:
        return Settings(
            bundle_dir=args.bundle,
            cache_dir=work / name / "cache",
            outbox_path=work / name / "outbox.jsonl",
            dead_letter_dir=work / name / "dlq",
            **extra,
        )

    rows = []
    for mode, batch in (("batched", True), ("one by one", False)):
        rows.append({"mode": mode, **run_mode(items, settings(mode.replace(" ", "-"), batch=batch))})
    rows[0]["x_one_by_one"] = round(rows[0]["items_per_s"] / rows[1]["items_per_s"], 2)
    rows[1]["x_one_by_one"] = 1.0

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    import boto3

    boto3.client("s3").create_bucket(Bucket="burst-cache")
    hits = [
        {"cache": "local folder", "target_ms": 20, **hit_latency(settings("hit-local"), items)},
        {
            "cache": "S3 (moto, loopback)",
            "target_ms": 50,
            **hit_latency(settings("hit-s3", cache_bucket="burst-cache"), items),
        },
    ]
    server.stop()
    result = {"items": len(items), "repeat": args.repeat, "modes": rows, "cache_hit_latency": hits}
    if args.json:
        emit(result, [], True)
        return 0
    emit(result, rows, False, f"burst of {len(items)} items ({args.repeat:.0%} repeats) through the SQS handler")
    print()
    emit(result, hits, False, "cache-hit latency (pipeline answer, warm container)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
