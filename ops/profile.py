"""The service profile: what the planner needs, measured through the real entry point here.

- ``init_s``: fresh container processes (``ops.container``) from spawn to ready: the
  interpreter, the imports and the bundle load, what a Lambda INIT phase runs.
- ``service_s``: one EventBridge item per invocation through ``functions.handlers.router``, at
  each ORT thread count, over real articles of different lengths (so the samples carry how
  service time grows with length), each item new to the response cache.
- ``batch_s_per_item``: SQS batches of each size at one thread, seconds per item.
- ``hit_s``: the same items again, answered from the response cache.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

from tqdm import tqdm

from functions.local_invoke import eventbridge_event, sqs_event
from ops.articles import news_items
from ops.fleet import Container, container_env
from ops.lambda_model import ServiceProfile


def measure_profile(
    bundle: Path,
    articles: Path | None = None,
    n_articles: int = 12,
    cold_runs: int = 3,
    threads: tuple[int, ...] = (1, 2),
    batch_sizes: tuple[int, ...] = (1, 4, 10),
    allow_ungated: bool = False,
) -> ServiceProfile:
    items = news_items(max(n_articles, max(batch_sizes)), 0.0, articles)

    def env(name: str, threads: int = 1) -> dict[str, str]:
        return container_env(bundle, work / name, threads, allow_ungated=allow_ungated)

    work = Path(tempfile.mkdtemp(prefix="newsburst-profile-"))
    log = work / "containers.log"
    steps = cold_runs + len(threads) * n_articles + len(batch_sizes)
    bar = tqdm(total=steps, desc="profile", unit="step")
    init_s = []
    for run in range(cold_runs):
        box = Container.start(env(f"cold-{run}"), 60, log)
        init_s.append(round(box.init_s, 4))
        box.stop()
        bar.update()
    service_s: dict[int, list[float]] = {}
    tokens_in: list[int] = []
    tokens_out: list[int] = []
    hit_s: list[float] = []
    for t in threads:
        box = Container.start(env(f"threads-{t}", t), 600, log)
        samples = []
        for item in items[:n_articles]:
            answer = _ok(box.invoke(eventbridge_event(item)))
            samples.append(round(answer["service_s"], 4))
            if t == threads[0]:
                result = answer["result"]["items"][0]["result"]
                tokens_in.append(result["tokens_in"])
                tokens_out.append(result["tokens_out"])
            bar.update()
        service_s[t] = samples
        if t == threads[0]:
            hit_s = [box.invoke(eventbridge_event(item))["service_s"] for item in items[: min(5, n_articles)]]
        box.stop()
    batch: dict[int, float] = {}
    for size in batch_sizes:
        box = Container.start(env(f"batch-{size}", threads[0]), 600, log)
        answer = _ok(box.invoke(sqs_event([json.dumps(i) for i in items[:size]])))
        batch[size] = round(answer["service_s"] / size, 4)
        box.stop()
        bar.update()
    bar.close()
    hit = round(statistics.median(hit_s), 4)
    return ServiceProfile(init_s, service_s, tokens_in, batch_s_per_item=batch, hit_s=hit, tokens_out=tokens_out,
                          source=str(bundle))  # fmt: skip


def _ok(answer: dict) -> dict:
    if "error" in answer:
        raise RuntimeError(f"the profiled invocation failed: {answer['error']}")
    return answer
