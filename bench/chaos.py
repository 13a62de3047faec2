"""Chaos on the local stack: the spike trace's burst replayed through the SQS handler of real
container processes while one fault class at a time is injected on loopback; the first run has
none and is the baseline. Every run is bounded in time.

Faults (``--faults``, comma-separated; default all):
- ``container-kill``: a busy container is killed (SIGKILL) every ``--kill-every`` seconds, mid-invocation
- ``init-fail``: every second container fails its INIT (its bundle folder is missing)
- ``cache-unwritable``: the response cache's folder cannot be created (a file stands in its place)
- ``cache-slow``: the cache is an S3 bucket that answers every call, after ``SLOW_CACHE_S``
- ``cache-trickle``: the cache is an S3 bucket whose endpoint sends a header line every 0.3 s for ever
- ``endpoint-down``, ``endpoint-slow``, ``endpoint-trickle``, ``endpoint-garbage``: the GPU endpoint
  refuses connections, reads requests and never answers, sends a header line every 0.3 s for ever,
  or answers 200 with an HTML page

The functions run with ``NEWSBURST_FLAGGED_POLICY=escalate``, so flagged, degenerate and
low-confidence summaries need the endpoint. Every item is one SQS message: a failed record
(``batchItemFailures``, or an invocation that died) is received again after a short visibility
timeout, up to ``--receives`` times (the template's redrive policy), then counted a dead letter.

Printed per fault: items in, summaries delivered (distinct ids notified), dead letters (after the
last receive, and the handler's own), duplicates notified, **items lost** (neither delivered nor
dead-lettered: must be 0), the longest invocation against the function's timeout (must be inside),
and the P99 latency of the items that did not need the faulty part (first receive succeeded and,
for endpoint faults, the local model's summary stood) against the same items' in the no-fault run
(for an endpoint fault, those the cascade did not escalate there; must be <= 1.5x).

    python bench/chaos.py [--items 30] [--seconds 40] [--faults container-kill,endpoint-slow] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import ExitStack
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from functions.local_invoke import sqs_event  # noqa: E402
from functions.runtime.bundle import STUDENT_DIR, TEACHER_DIR  # noqa: E402
from functions.tables import emit  # noqa: E402
from ops.articles import news_items  # noqa: E402
from ops.fault_servers import raw_server, stand_in  # noqa: E402
from ops.fleet import ContainerError, ContainerFleet, container_env  # noqa: E402
from ops.traces import read_newsburst  # noqa: E402

SPIKE = ROOT / "events" / "traces" / "spike.json"
SPIKE_AT_S = 3600.0  # the trace's burst starts an hour in
OUT = ROOT / "build" / "bench" / "chaos.json"
FAULTS = ("container-kill", "init-fail", "cache-unwritable", "cache-slow", "cache-trickle",
          "endpoint-down", "endpoint-slow", "endpoint-trickle", "endpoint-garbage")  # fmt: skip
ENDPOINT_FAULTS = {"endpoint-down", "endpoint-slow", "endpoint-trickle", "endpoint-garbage"}
SLOW_CACHE_S = 0.5  # per call: S3 answers small objects in tens of ms
VISIBILITY_S = 1.0  # before a failed record is received again (short: the run is bounded)
P99_LIMIT = 1.5


class FailingInits(ContainerFleet):
    """Every second container starts without its bundle, so its INIT fails."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.starts = 0

    def env_for_start(self) -> dict[str, str]:
        self.starts += 1
        return self.env | {"NEWSBURST_BUNDLE_DIR": "/nonexistent/bundle"} if self.starts % 2 else self.env


def _fault_env(fault: str, work: Path, stack: ExitStack, healthy_url: str) -> dict[str, str]:
    """The settings that inject ``fault`` (its servers entered on ``stack``)."""
    if fault == "cache-unwritable":
        (work / "blocker").parent.mkdir(parents=True, exist_ok=True)
        (work / "blocker").write_text("a file where the cache folder should be")
        return {"NEWSBURST_CACHE_DIR": str(work / "blocker" / "cache")}
    if fault in ("cache-slow", "cache-trickle"):
        if fault == "cache-slow":
            url, _ = stack.enter_context(stand_in(_empty_bucket, lambda r: SLOW_CACHE_S))
        else:
            url = stack.enter_context(raw_server("trickle"))
        return {"NEWSBURST_CACHE_BUCKET": "chaos", "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "chaos",
                "AWS_SECRET_ACCESS_KEY": "chaos", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    if fault == "endpoint-down":
        return {"NEWSBURST_ENDPOINT_URL": "http://127.0.0.1:9"}  # the discard port: nothing listens
    if fault in ("endpoint-slow", "endpoint-trickle"):
        return {"NEWSBURST_ENDPOINT_URL": stack.enter_context(raw_server(fault.removeprefix("endpoint-")))}
    if fault == "endpoint-garbage":
        url, _ = stack.enter_context(stand_in(lambda r: (200, "text/html", b"<html>Service Unavailable</html>")))
        return {"NEWSBURST_ENDPOINT_URL": url}
    return {"NEWSBURST_ENDPOINT_URL": healthy_url}


def _empty_bucket(request) -> tuple[int, str, bytes]:
    """An S3 bucket that takes every write and holds nothing: each read misses (a slow cache that
    works, unlike the trickling one)."""
    if request.method in ("GET", "HEAD"):
        return 404, "application/xml", b"<Error><Code>NoSuchKey</Code><Message>chaos</Message></Error>"
    return (204 if request.method == "DELETE" else 200), "application/xml", b""


def run_fault(fault: str, items: list[dict], arrivals: np.ndarray, args, healthy_url: str) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"newsburst-chaos-{fault}-"))
    with ExitStack() as stack:
        env = container_env(args.bundle, work, 1, healthy_url, allow_ungated=True)
        env |= {"NEWSBURST_FLAGGED_POLICY": "escalate", "NEWSBURST_BATCH": "false",
                "NEWSBURST_DEADLINE_MARGIN_S": "2", "NEWSBURST_ENDPOINT_ATTEMPTS": "2",
                "NEWSBURST_ENDPOINT_TIMEOUT_S": "4"}  # fmt: skip
        env |= _fault_env(fault, work, stack, healthy_url)
        fleet_type = FailingInits if fault == "init-fail" else ContainerFleet
        fleet = fleet_type(env, args.containers, 60.0, work / "containers.log", timeout_s=args.timeout)
        result = _replay(fault, fleet, items, arrivals, args)
        fleet.close()
    result |= _delivered(work, items, result)
    return result


def _replay(fault: str, fleet: ContainerFleet, items: list[dict], arrivals: np.ndarray, args) -> dict:
    lock = threading.Lock()
    records: dict[str, dict] = {}
    longest = [0.0]
    stop = threading.Event()
    start = time.monotonic()
    bar = tqdm(total=len(items), desc=fault, unit="item", file=sys.stderr)

    def one(at: float, item: dict) -> None:
        time.sleep(max(0.0, start + at - time.monotonic()))
        record = {"receives": 0, "ok": False, "first_ok": False, "route": None, "init_failures": 0}
        while record["receives"] < args.receives and not stop.is_set():
            record["receives"] += 1
            try:
                box, _, _ = fleet.acquire()
            except ContainerError:  # an INIT that failed: the record becomes visible again
                record["init_failures"] += 1
                time.sleep(VISIBILITY_S)
                continue
            except RuntimeError:  # the run's time bound passed
                break
            began = time.monotonic()
            try:
                answer = box.invoke(sqs_event([json.dumps(item)]))
            finally:
                fleet.release(box)
            with lock:
                longest[0] = max(longest[0], time.monotonic() - began)
            if "error" not in answer and not answer["result"]["batchItemFailures"]:
                record |= {"ok": True, "first_ok": record["receives"] == 1, "latency_s": time.monotonic() - start - at}
                break
            time.sleep(VISIBILITY_S)
        with lock:
            records[item["id"]] = record
            bar.update()

    def killer() -> None:
        rng = random.Random(0)
        while not stop.wait(args.kill_every):
            if busy := fleet.busy():
                rng.choice(busy).proc.kill()

    if fault == "container-kill":
        threading.Thread(target=killer, daemon=True).start()
    # every receive of the last arrival, twice over: past it, what is still in flight is "unfinished"
    bound = args.seconds + 2 * args.receives * (args.timeout + VISIBILITY_S) + 60
    pool = ThreadPoolExecutor(max_workers=len(items))
    futures = [pool.submit(one, float(at), item) for at, item in zip(arrivals, items, strict=True)]
    _, pending = wait(futures, timeout=bound)
    stop.set()  # no further receives; an invocation in flight still ends at its own timeout
    for f in futures:
        if f.done() and f.exception() is not None:
            raise f.exception()
    pool.shutdown(wait=True)
    bar.close()
    return {"records": records, "unfinished": len(pending), "longest_s": round(longest[0], 2),
            "wall_s": round(time.monotonic() - start, 1)}  # fmt: skip


def _delivered(work: Path, items: list[dict], result: dict) -> dict:
    outbox = work / "outbox.jsonl"
    notes = [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []
    routes = {n["id"]: n for n in notes}
    ids = [i["id"] for i in items]
    letters = [json.loads(p.read_text()) for p in (work / "dead-letter").glob("*.json")]  # none: no folder
    lettered = {letter["item_id"] for letter in letters}
    records = result.pop("records")
    dlq = {i for i, r in records.items() if not r["ok"]}
    for item_id, note in routes.items():
        if item_id in records:
            records[item_id]["route"] = note["route"]
            records[item_id]["escalated"] = bool(note.get("escalated"))
    return {
        "items": len(ids),
        "delivered": len(set(ids) & set(routes)),
        "dead_letters": len((dlq | lettered) - set(routes)),
        "duplicates_notified": len(notes) - len(set(n["id"] for n in notes)),
        "lost": len(set(records) - set(routes) - dlq - lettered),  # finished, yet neither delivered nor lettered
        "init_failures": sum(r["init_failures"] for r in records.values()),
        "retried": sum(r["receives"] > 1 for r in records.values()),
        "records": records,
    }


def _p99_unaffected(result: dict, fault: str) -> float | None:
    """P99 (ms) of the items that did not need the faulty part."""

    def needed(r: dict) -> bool:  # only an endpoint fault has items that need it: the escalated ones
        return fault in ENDPOINT_FAULTS and (r.get("escalated") or r.get("route") in ("escalate", "fallback"))

    latencies = [r["latency_s"] for r in result["records"].values() if r["first_ok"] and not needed(r)]
    return round(float(np.percentile(latencies, 99)) * 1000, 0) if latencies else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=ROOT / STUDENT_DIR)
    parser.add_argument("--endpoint-bundle", type=Path, default=ROOT / TEACHER_DIR, help="the healthy endpoint's")
    parser.add_argument("--items", type=int, default=30, help="items per run (20%% repeat an earlier article)")
    parser.add_argument("--articles", type=Path, default=ROOT.parent / "shared" / "news" / "cnndm_dev.jsonl")
    parser.add_argument("--seconds", type=float, default=40.0, help="the burst's arrivals squeezed into this long")
    parser.add_argument("--containers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=8.0, help="the function's timeout per invocation (s)")
    parser.add_argument("--receives", type=int, default=5, help="receives before a record is a dead letter")
    parser.add_argument("--kill-every", type=float, default=4.0, help="container-kill: seconds between kills")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, from {', '.join(FAULTS)}")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    if unknown := set(faults) - set(FAULTS):
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    articles = args.articles if args.articles.exists() else None  # the Lee corpus beside the code otherwise
    items = news_items(args.items, 0.2, articles)
    spike = read_newsburst(SPIKE).window(SPIKE_AT_S, SPIKE_AT_S + 3600).arrivals[: len(items)]
    arrivals = (spike - spike[0]) * (args.seconds / max(spike[-1] - spike[0], 1e-9))
    from functions.endpoint.launch import endpoint_process

    rows, runs = [], {}
    with endpoint_process(args.endpoint_bundle, quiet=True, max_batch=4) as healthy_url:
        for fault in ["none", *faults]:
            runs[fault] = run_fault(fault, items, arrivals, args, healthy_url)
    for fault, r in runs.items():
        # against the same items of the no-fault run: without the escalated ones for an endpoint fault
        p99, base = _p99_unaffected(r, fault), _p99_unaffected(runs["none"], fault)
        rows.append({
            "fault": fault, "items": r["items"], "delivered": r["delivered"], "dead_letters": r["dead_letters"],
            "duplicates_notified": r["duplicates_notified"], "lost": r["lost"], "unfinished": r["unfinished"],
            "retried": r["retried"],
            "longest_s": r["longest_s"], "timeout_s": args.timeout, "inside_timeout": r["longest_s"] <= args.timeout,
            "p99_unaffected_ms": p99, "p99_no_fault_ms": base,
            "x_baseline_p99": round(p99 / base, 2) if p99 and base else None,
        })  # fmt: skip
    ok = all(r["lost"] == 0 and r["unfinished"] == 0 and r["inside_timeout"] for r in rows)
    result = {"rows": rows, "ok": ok, "p99_limit": P99_LIMIT, "runs": runs, "bundle": str(args.bundle)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    emit(result, rows, args.json, f"chaos: {args.items} items over {args.seconds:.0f} s per run, "
         f"{args.containers} containers, timeout {args.timeout:.0f} s, {args.receives} receives")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
