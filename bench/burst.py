"""Burst: 200 news items (30% repeats) through the SQS handler path, batched vs one by one.

Each mode starts from an empty local response cache and gets the same shuffled burst, sent
as SQS events of 10 records to the deployed entry point in-process; the modes take turns
batch by batch. items/s counts the time spent inside the handler. Then the cache-hit latency
is measured for the local folder cache and for S3 on moto's server over loopback HTTP.

    python bench/burst.py [--items 200] [--repeat 0.3] [--bundle build/bundles/student] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from functions.app import App  # noqa: E402
from functions.config import Settings  # noqa: E402
from functions.handlers import router  # noqa: E402
from functions.local_invoke import LocalContext, sqs_event  # noqa: E402
from functions.runtime.bundle import STUDENT_DIR  # noqa: E402
from functions.schemas import NewsItem  # noqa: E402
from functions.tables import emit  # noqa: E402
from ops.articles import news_items  # noqa: E402
from ops.local_aws import moto_server  # noqa: E402


def run_modes(items: list[dict], modes: dict[str, Settings]) -> list[dict]:
    """Every SQS batch goes through each mode in turn (each with its own cache), so the
    machine's drift (measured 20-40% here) hits every mode alike."""
    apps = {name: App.from_settings(settings) for name, settings in modes.items()}
    spent = dict.fromkeys(modes, 0.0)
    failures = dict.fromkeys(modes, 0)
    for at in tqdm(range(0, len(items), 10), desc="burst", unit="batch", file=sys.stderr):
        event = sqs_event([json.dumps(i) for i in items[at : at + 10]])
        for name, app in apps.items():
            router.use(app)
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # the EMF metric lines
                failures[name] += len(router.handler(event, LocalContext())["batchItemFailures"])
            spent[name] += time.perf_counter() - start
    rows = []
    for name, settings in modes.items():
        notes = [json.loads(line) for line in settings.outbox_path.read_text().splitlines()]
        latencies = [n["latency_ms"] for n in notes]
        rows.append(
            {
                "mode": name,
                "items_per_s": round(len(items) / spent[name], 2),
                "busy_s": round(spent[name], 1),
                "p50_ms": round(float(np.percentile(latencies, 50)), 1),
                "p95_ms": round(float(np.percentile(latencies, 95)), 1),
                "p99_ms": round(float(np.percentile(latencies, 99)), 1),
                "cache_hits": sum(n["cache_hit"] for n in notes),
                "fallbacks": sum(n["fallback"] for n in notes),
                "failed": failures[name],
            }
        )
    return rows


def model_split(bundle: Path, items: list[dict]) -> list[dict]:
    """The model's own seconds for the burst's misses (each SQS batch's articles not seen before,
    duplicates within a batch once), one by one and batched. Prefill is the same work in both
    modes, so its share bounds what batching can gain end to end."""
    from functions.runtime.model import load_model
    from functions.runtime.summarize import Summarizer

    summarize = Summarizer(load_model(bundle, verify=False))
    seen: set[str] = set()
    batches = []
    for at in range(0, len(items), 10):
        fresh = list(dict.fromkeys(i["body"] for i in items[at : at + 10] if i["body"] not in seen))
        seen.update(fresh)
        batches.append([b for b in fresh if summarize.decide(b)[1].route == "local"])  # escalations aside
    spent = {mode: [0.0, 0.0] for mode in ("batched", "one by one")}  # prefill, decode seconds
    for bodies in tqdm([b for b in batches if b], desc="model only", unit="batch", file=sys.stderr):
        gen = summarize.batch(bodies)[0].generation  # the modes take turns; a batch's rows share its times
        spent["batched"][0] += gen.prefill_seconds
        spent["batched"][1] += gen.decode_seconds
        for body in bodies:
            gen = summarize(body).generation
            spent["one by one"][0] += gen.prefill_seconds
            spent["one by one"][1] += gen.decode_seconds
    rows = [{"mode": mode, "articles": len(seen), "prefill_s": round(prefill, 2), "decode_s": round(decode, 2),
             "model_s": round(prefill + decode, 2)} for mode, (prefill, decode) in spent.items()]  # fmt: skip
    for row in rows:
        row["x_one_by_one"] = round(rows[1]["model_s"] / row["model_s"], 2)
    return rows


def hit_latency(settings: Settings, items: list[dict], samples: int = 50) -> dict:
    """Milliseconds for a pipeline answer that is a cache hit (warm container)."""
    app = App.from_settings(settings)
    parsed = [NewsItem.model_validate(i) for i in items[: samples * 2]]
    with contextlib.redirect_stdout(io.StringIO()):  # EMF lines flushed at 100 values
        first = [r for at in range(0, len(parsed), 10) for r in app.pipeline.run(parsed[at : at + 10])]  # fill
    cached = [item for item, r in zip(parsed, first, strict=True) if not r.fallback][
        :samples
    ]  # fallbacks aren't cached
    times = []
    with contextlib.redirect_stdout(io.StringIO()):
        for item in cached:
            start = time.perf_counter()
            (result,) = app.pipeline.run([item])
            times.append((time.perf_counter() - start) * 1000)
            assert result.cache_hit
    p95 = float(np.percentile(times, 95))
    return {"hits": len(times), "median_ms": round(statistics.median(times), 2), "p95_ms": round(p95, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--repeat", type=float, default=0.3, help="share of items that repeat an earlier article")
    parser.add_argument("--bundle", type=Path, default=ROOT / STUDENT_DIR)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    items = news_items(args.items, args.repeat)
    work = Path(tempfile.mkdtemp(prefix="newsburst-burst-"))
    import logging

    logging.disable(logging.INFO)  # Powertools' per-item logs would dominate the terminal

    def settings(name: str, **extra) -> Settings:
        return Settings(
            bundle_dir=args.bundle,
            cache_dir=work / name / "cache",
            outbox_path=work / name / "outbox.jsonl",
            desk_dir=work / name / "desk",
            stories_dir=work / name / "stories",
            dead_letter_dir=work / name / "dlq",
            allow_ungated=True,  # a speed measurement: the quality gate does not apply
            **extra,
        )

    rows = run_modes(items, {"batched": settings("batched"), "one by one": settings("one-by-one", batch=False)})
    rows[0]["x_one_by_one"] = round(rows[0]["items_per_s"] / rows[1]["items_per_s"], 2)
    rows[1]["x_one_by_one"] = 1.0
    split = model_split(args.bundle, items)

    with moto_server() as env:
        os.environ.update(env)
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
    result = {"items": len(items), "repeat": args.repeat, "modes": rows, "model_only": split, "cache_hit_latency": hits}
    if args.json:
        emit(result, [], True)
        return 0
    emit(result, rows, False, f"burst of {len(items)} items ({args.repeat:.0%} repeats) through the SQS handler")
    print()
    emit(result, split, False, "the model's own time for the same misses (prefill is the same work in both modes)")
    print()
    emit(result, hits, False, "cache-hit latency (pipeline answer, warm container)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
