"""A breaking-news burst as it really comes, with and without story reuse, side by side in one run.

From real articles (the shared CNN/DailyMail and XSum dev sets, and events/news) it builds, per
story: the original, a duplicate delivery of it (SQS is at-least-once: an exact repeat), wire
copies with another headline, dateline and sign-off, a copy with paragraphs reordered and the end
trimmed, an update whose lead states other numbers and another name, and a copy of that update;
and, for each story, an unrelated story on the same topic (the dev article sharing the most
words with it) with a copy of its own. Arrivals follow events/traces/spike.json from the spike's
start. Every item goes through the SQS handler of real container processes (ops.container) against
S3 on moto's server; each mode gets its own bucket, the same burst and the same fleet size.

Printed per mode: exact-hit and story-hit rates, the model's seconds and those saved, stale facts
delivered (a reused summary stating a number or name its own article lacks: must be 0), false
merges (two stories sharing a story id: must be 0), stories split (copies not matched: a missed
saving, not an error), and what the burst cost (billed Lambda milliseconds). The JSON goes to
build/bench/stories.json, which bench/cost.py reads.

    python bench/stories.py [--stories 6] [--containers 2] [--bundle build/bundles/student] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import logging  # noqa: E402

from tqdm import tqdm  # noqa: E402

from functions.desk_records.feed import DeskFeed  # noqa: E402
from functions.local_invoke import sqs_event  # noqa: E402
from functions.objects import S3Objects  # noqa: E402
from functions.runtime.bundle import STUDENT_DIR  # noqa: E402
from functions.runtime.extractive import sentences  # noqa: E402
from functions.runtime.guard import check  # noqa: E402
from functions.stories.minhash import signature, similarity  # noqa: E402
from functions.tables import emit  # noqa: E402
from ops.articles import jsonl_items  # noqa: E402
from ops.fleet import ContainerFleet, container_env  # noqa: E402
from ops.local_aws import moto_server  # noqa: E402
from ops.traces import read_newsburst  # noqa: E402

SHARED = ROOT.parent / "shared" / "news"
SPIKE = ROOT / "events" / "traces" / "spike.json"
SPIKE_AT_S = 3600.0  # the trace's burst starts at 10:00, an hour in
OUT = ROOT / "build" / "bench" / "stories.json"
DATELINES = ["LONDON (Wire) -", "NEW YORK (Agency) -", "SYDNEY (Newswire) -", "PARIS (Press) -"]
MODEL_ROUTES = ("local", "escalate")  # the routes that ran a model (cache and story hits did not)
NAMES = ["Maria Santos", "John Okafor", "Li Wei", "Anna Petrova"]


def _articles() -> list[dict]:
    rows = []
    for name in ("cnndm_dev.jsonl", "xsum_dev.jsonl"):
        path = SHARED / name
        if path.exists():
            rows += jsonl_items(path)
    for path in sorted((ROOT / "events" / "news").glob("*.json")):
        item = json.loads(path.read_text())
        rows.append({"id": item["id"], "title": item.get("title", ""), "body": item["body"]})
    return [r for r in rows if 80 <= len(r["body"].split()) <= 700]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{5,}", text.lower())}


def choose_stories(n: int, seed: int) -> list[tuple[dict, dict]]:
    """``n`` stories, each with its same-topic neighbour (most shared words), no two near-duplicates
    of each other (shingle similarity under 0.2: the dev sets hold a few re-published stories)."""
    pool = _articles()
    rng = random.Random(seed)
    rng.shuffle(pool)
    chosen: list[dict] = []
    signatures: list = []
    for row in pool:
        sig = signature(row["body"])
        if all(similarity(sig, other) < 0.2 for other in signatures):
            chosen.append(row)
            signatures.append(sig)
    bases, neighbours = chosen[:n], chosen[n:]
    pairs = []
    for base in bases:
        words = _words(base["body"])
        best = max(neighbours, key=lambda r: len(words & _words(r["body"])))
        neighbours.remove(best)
        pairs.append((base, best))
    return pairs


def wire(item: dict, n: int, rng: random.Random) -> dict:
    body = f"{DATELINES[n % len(DATELINES)]} {item['body']} (Reporting by desk {n}; editing by {rng.choice(NAMES)})"
    return {"title": f"{item['title'] or 'Breaking'} - update {n}", "body": body}


def reorder_trim(item: dict) -> dict:
    parts = sentences(item["body"])
    if len(parts) > 5:
        parts[2], parts[3] = parts[3], parts[2]
    return {"title": item["title"], "body": " ".join(parts[: max(4, int(len(parts) * 0.75))])}


def update(item: dict, rng: random.Random) -> dict:
    """The lead's numbers move and a name changes: what a story's second hour brings."""
    parts = sentences(item["body"])
    lead = " ".join(parts[:3])
    lead = re.sub(r"\b\d+\b", lambda m: str(int(m.group()) + rng.randint(2, 9)), lead)
    name = re.search(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b", lead)
    lead = lead.replace(name.group(), rng.choice(NAMES)) if name else f"{lead} {rng.choice(NAMES)} said 14 were hurt."
    return {"title": item["title"], "body": " ".join([lead, *parts[3:]])}


def build_burst(n_stories: int, seed: int = 0) -> list[dict]:
    """The burst's items in arrival order, each labelled with its story (``story``) and kind."""
    rng = random.Random(seed)
    waves: list[list[dict]] = [[], [], []]  # originals first, copies next, updates last: as a story unfolds
    for s, (base, neighbour) in enumerate(choose_stories(n_stories, seed)):
        up = update(base, rng)
        made = [
            (0, "original", base), (0, "repeat", base), (1, "wire", wire(base, 1, rng)),
            (1, "wire", wire(base, 2, rng)), (1, "reorder+trim", reorder_trim(base)), (2, "update", up),
            (2, "update wire", wire(up, 3, rng)),
        ]  # fmt: skip
        for wave, kind, item in made:
            waves[wave].append({"story": f"s{s}", "kind": kind, **item})
        waves[0].append({"story": f"s{s}-topic", "kind": "same topic", **neighbour})
        waves[1].append({"story": f"s{s}-topic", "kind": "wire", **wire(neighbour, 4, rng)})
    burst = []
    for wave in waves:
        rng.shuffle(wave)
        burst += wave
    for i, item in enumerate(burst):
        item["id"] = f"{item['story']}-{i}" if item["kind"] != "repeat" else f"{item['story']}-repeat"
    originals = {i["story"]: i["id"] for i in burst if i["kind"] in ("original", "same topic")}
    for item in burst:  # an exact repeat is the same message delivered again: the original's id and text
        if item["kind"] == "repeat":
            item["id"] = originals[item["story"]]
    return burst


def run_mode(burst: list[dict], stories: bool, bundle: Path, containers: int, aws: dict, arrivals) -> dict:
    import boto3

    bucket = f"stories-bench-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    work = ROOT / "build" / "bench" / f"stories-{bucket}"
    env = container_env(bundle, work, allow_ungated=True) | aws
    env |= {"NEWSBURST_CACHE_BUCKET": bucket, "NEWSBURST_STORIES": str(stories).lower(), "NEWSBURST_BATCH": "false"}
    fleet = ContainerFleet(env, containers, 120.0, work / "containers.log")
    bar = tqdm(total=len(burst), desc=f"stories {'on' if stories else 'off'}", unit="item", file=sys.stderr)
    lock, failures = threading.Lock(), []
    start = time.monotonic()

    def one(at: float, item: dict) -> None:
        time.sleep(max(0.0, start + at - time.monotonic()))
        box, _, _ = fleet.acquire()
        try:
            body = {k: item[k] for k in ("id", "title", "body")}
            answer = box.invoke(sqs_event([json.dumps(body)]))
        finally:
            fleet.release(box)
        with lock:
            if "error" in answer or answer["result"].get("batchItemFailures"):
                failures.append(item["id"])
            bar.update()

    with ThreadPoolExecutor(max_workers=containers * 2) as pool:
        list(pool.map(one, arrivals, burst))
    wall = time.monotonic() - start
    fleet.close()
    bar.close()
    feed = DeskFeed(S3Objects(boto3.client("s3"), bucket, "desk/"))
    records = [feed.record_of(story["key"]) for story in feed.since(limit=10_000)[0]]
    return score(burst, records, stories, wall, failures, fleet.cold_starts)


def score(burst: list[dict], records: list[dict], stories: bool, wall: float, failures: list, cold: int) -> dict:
    """The mode's row, from what was delivered (the desk's record of every summary and its article)."""
    label = {item["id"]: item["story"] for item in burst}
    delivered = [r["story"] for r in records]
    routes = Counter(d["route"] for d in delivered)
    stale = sum(
        bool(check(r["story"]["summary"], r["article"]["body"]).unsupported_claims)
        for r in records
        if r["story"]["route"] == "story"
    )
    flagged = sum(bool(d["faithfulness"]["unsupported_claims"]) for d in delivered if d["route"] != "story")
    by_id: dict[str, set[str]] = defaultdict(set)
    ids_of: dict[str, set[str]] = defaultdict(set)
    for d in delivered:
        if d.get("story_id"):
            by_id[d["story_id"]].add(label[d["id"]])
            ids_of[label[d["id"]]].add(d["story_id"])
    n = max(len(delivered), 1)
    return {
        "mode": "story reuse" if stories else "exact cache only",
        "items": len(burst),
        "delivered": len(delivered),
        "failed": len(failures),
        "exact_hit_pct": round(100 * routes["cache"] / n, 1),
        "story_hit_pct": round(100 * routes["story"] / n, 1),
        "model_runs": sum(routes[r] for r in MODEL_ROUTES),
        "model_s": round(sum(d["model_ms"] for d in delivered) / 1000, 2),
        "billed_s": round(sum(d["billed_ms"] for d in delivered) / 1000, 2),
        "billed_model_s": round(sum(d["billed_ms"] for d in delivered if d["route"] in MODEL_ROUTES) / 1000, 2),
        "tokens_in": sum(d["tokens_in"] for d in delivered if d["route"] in MODEL_ROUTES),
        "tokens_out": sum(d["tokens_out"] for d in delivered if d["route"] in MODEL_ROUTES),
        "stale_facts": stale,
        "false_merges": sum(len(labels) > 1 for labels in by_id.values()),
        "stories_split": sum(len(ids) > 1 for ids in ids_of.values()) if stories else None,
        "flagged_model_summaries": flagged,
        "wall_s": round(wall, 1),
        "cold_starts": cold,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=6, help="breaking stories in the burst (9 items each)")
    parser.add_argument("--containers", type=int, default=2, help="container processes per mode")
    parser.add_argument("--bundle", type=Path, default=ROOT / STUDENT_DIR)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compress", type=float, default=1.0, help="replay the arrivals this many times faster")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
    burst = build_burst(args.stories, args.seed)
    spike = read_newsburst(SPIKE).window(SPIKE_AT_S, SPIKE_AT_S + 3600).arrivals[: len(burst)] / args.compress
    with moto_server() as aws:
        os.environ.update(aws)  # this process's boto3 (creating buckets, reading the feed) and the fleet's
        modes = [run_mode(burst, on, args.bundle, args.containers, aws, spike) for on in (False, True)]
    off, on = modes
    on["model_s_saved"] = round(off["model_s"] - on["model_s"], 2)
    on["billed_s_saved"] = round(off["billed_s"] - on["billed_s"], 2)
    result = {
        "burst": dict(Counter(item["kind"] for item in burst)),
        "arrivals": f"spike.json from {SPIKE_AT_S:.0f} s: {len(burst)} items in {spike[-1] - spike[0]:.0f} s",
        "bundle": str(args.bundle),
        "modes": modes,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    columns = ["mode", "items", "exact_hit_pct", "story_hit_pct", "model_runs", "model_s", "model_s_saved",
               "billed_s", "stale_facts", "false_merges", "stories_split", "failed"]  # fmt: skip
    emit(result, [{c: m.get(c, "") for c in columns} for m in modes], args.json, f"burst: {result['burst']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
