"""Replay a trace against the local stack on loopback, with real processes.

Each invocation is an EventBridge ``NewsItemPublished`` event (an asynchronous trigger: a failed
invocation is retried twice, then goes to the dead-letter destination, as Lambda does). The
fleet are ``ops.container`` processes: each pays a real cold start when it starts and is
stopped after the idle expiry; at most ``max_containers`` exist (the concurrency limit), and an
invocation that finds none free waits for one (a throttle, retried). The response cache is a
local folder the fleet shares, and long or low-confidence items escalate to the GPU endpoint
server running as its own process (CPU provider here).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from functions.local_invoke import eventbridge_event
from ops.articles import news_items
from ops.fleet import ContainerFleet, container_env
from ops.traces import Trace

ASYNC_RETRIES = 2  # Lambda's default for asynchronous invocations


@dataclass(frozen=True)
class LoadtestInputs:
    trace: Trace
    bundle: Path
    endpoint_bundle: Path | None = None
    idle_expiry_s: float = 60.0
    max_containers: int = 2
    threads: int = 1
    repeat: float = 0.0
    articles: Path | None = None
    max_requests: int = 200
    max_seconds: float = 300.0
    seed: int = 0
    allow_ungated: bool = False  # time a student that did not pass the export's quality gate
    grace_s: float = 120.0  # after the last arrival, how long requests in flight may still finish


def loadtest(inputs: LoadtestInputs, progress: bool = True) -> dict:
    arrivals = inputs.trace.arrivals[inputs.trace.arrivals < inputs.max_seconds][: inputs.max_requests]
    items = news_items(len(arrivals), inputs.repeat, inputs.articles, inputs.seed)
    work = Path(tempfile.mkdtemp(prefix="newsburst-loadtest-"))
    if inputs.endpoint_bundle is None:
        return _replay(inputs, arrivals, items, work, None, progress)
    from functions.endpoint.launch import endpoint_process

    with endpoint_process(inputs.endpoint_bundle, quiet=True, max_batch=4) as url:
        return _replay(inputs, arrivals, items, work, url, progress)


def _replay(
    inputs: LoadtestInputs, arrivals: np.ndarray, items: list[dict], work: Path, url: str | None, progress: bool
) -> dict:
    env = container_env(inputs.bundle, work, inputs.threads, url, inputs.allow_ungated)
    fleet = ContainerFleet(env, inputs.max_containers, inputs.idle_expiry_s, work / "containers.log")
    outcomes: list[dict] = []
    lock = threading.Lock()
    bar = tqdm(total=len(arrivals), desc="loadtest", unit="req", disable=not progress)
    start = time.monotonic()

    def one(at: float, item: dict) -> None:
        cold = throttled = False
        attempts = 0
        while attempts <= ASYNC_RETRIES:  # a retry may land on another container
            attempts += 1
            box, started, waited = fleet.acquire()
            cold, throttled = cold or started, throttled or waited
            try:
                answer = box.invoke(eventbridge_event(item))
            finally:
                fleet.release(box)
            if "error" not in answer:
                break
        outcome = {"latency_s": time.monotonic() - start - at, "cold": cold, "throttled": throttled,
                   "attempts": attempts}  # fmt: skip
        if "error" in answer:
            outcome["status"] = "dlq"  # the on-failure destination after the retries
        else:
            (report,) = answer["result"]["items"]
            outcome["status"] = report["status"]
            outcome.update({k: report["result"][k] for k in ("route", "cache_hit", "escalated", "fallback")}
                           if report["status"] == "summarized" else {})  # fmt: skip
        with lock:
            outcomes.append(outcome)
        bar.update()

    deadline = start + inputs.max_seconds + inputs.grace_s
    pool = ThreadPoolExecutor(max_workers=max(4, len(arrivals)))
    futures = []
    for at, item in zip(arrivals, items, strict=True):
        time.sleep(max(0.0, start + at - time.monotonic()))
        futures.append(pool.submit(one, float(at), item))
    wait(futures, timeout=max(0.0, deadline - time.monotonic()))
    fleet.close()  # past the bound, busy containers are killed: nothing waits on them
    pool.shutdown(wait=True, cancel_futures=True)
    errors = [f.exception() for f in futures if f.done() and not f.cancelled() and f.exception()]
    bar.close()
    return summarize(outcomes, len(arrivals), fleet, time.monotonic() - start, errors, work)


def summarize(outcomes: list[dict], sent: int, fleet: ContainerFleet, wall_s: float, errors: list, work: Path) -> dict:
    latencies = np.array([o["latency_s"] for o in outcomes]) * 1000
    status = Counter(o["status"] for o in outcomes)
    dead_letters = len(list((work / "dead-letter").glob("*"))) if (work / "dead-letter").exists() else 0

    def pct(p: float) -> float:
        return round(float(np.percentile(latencies, p)), 1) if len(latencies) else 0.0

    return {
        "requests": sent,
        "completed": len(outcomes),
        "unfinished": sent - len(outcomes),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "cold_starts": fleet.cold_starts,
        "cold_start_s_median": round(float(np.median(fleet.init_s)), 3) if fleet.init_s else 0.0,
        "cache_hits": sum(bool(o.get("cache_hit")) for o in outcomes),
        "escalations": sum(bool(o.get("escalated")) for o in outcomes),
        "fallbacks": sum(bool(o.get("fallback")) for o in outcomes),
        "dlq": status["dlq"] + status["dead-lettered"],
        "dead_letter_files": dead_letters,
        "throttled": sum(o["throttled"] for o in outcomes),
        "retried": sum(o["attempts"] > 1 for o in outcomes),
        "peak_containers": fleet.peak,
        "expired_containers": fleet.expired,
        "wall_s": round(wall_s, 1),
        "errors": [f"{type(e).__name__}: {e}" for e in errors],
        "work_dir": str(work),
    }
