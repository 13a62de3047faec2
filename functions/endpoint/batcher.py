"""Dynamic batching: requests that arrive within a few milliseconds are generated together.

A bounded queue gives backpressure: when it is full, ``submit`` refuses at once (the server
answers 429) instead of letting latency grow without limit. One worker thread owns the model,
so generation never runs concurrently with itself. A streaming request goes through the same
queue and deadline; it is generated alone, its tokens handed to ``on_token`` as they come.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from functions.runtime.deadline import Deadline
from functions.schemas import GenerationParameters, NewsItem


class Overloaded(RuntimeError):
    pass


class DeadlineExceeded(RuntimeError):
    pass


OnToken = Callable[[int], None]


@dataclass
class Job:
    items: list[NewsItem]
    params: GenerationParameters
    deadline: Deadline  # after which the answer is useless to the caller
    on_token: OnToken | None = None  # a streaming request: generated alone, tokens as they come
    future: Future = field(default_factory=Future)

    def joins(self, first: Job) -> bool:
        return self.on_token is None and first.on_token is None and self.params == first.params


# (items, parameters, on_token) -> one outcome per item; runs a whole batch in one generation
RunBatch = Callable[[list[NewsItem], GenerationParameters, OnToken | None], list]


class DynamicBatcher:
    def __init__(self, run_batch: RunBatch, max_batch: int, window_ms: float, queue_size: int):
        self.run_batch, self.max_batch, self.window_s = run_batch, max_batch, window_ms / 1000
        self.jobs: queue.Queue[Job] = queue.Queue(maxsize=queue_size)
        self._carry: deque[Job] = deque()  # taken from the queue but not fitting the last batch
        self.batches = 0
        self.largest_batch = 0
        threading.Thread(target=self._loop, name="batcher", daemon=True).start()

    def submit(
        self, items: list[NewsItem], params: GenerationParameters, deadline: Deadline, on_token: OnToken | None = None
    ) -> Future:
        """A request of more than ``max_batch`` items runs as several jobs (one request of 64 used to
        become one batch of 64); the future holds all their results in order, and the largest batch."""
        chunks = [items[i : i + self.max_batch] for i in range(0, len(items), self.max_batch)]
        if self.jobs.maxsize and self.jobs.qsize() + len(chunks) > self.jobs.maxsize:
            raise Overloaded(f"{self.jobs.qsize()} requests already queued")
        jobs = [Job(chunk, params, deadline, on_token) for chunk in chunks]
        for job in jobs:
            try:
                self.jobs.put_nowait(job)
            except queue.Full:
                raise Overloaded(f"{self.jobs.maxsize} requests already queued") from None
        return jobs[0].future if len(jobs) == 1 else _gathered([j.future for j in jobs])

    def _next(self, timeout: float | None) -> Job | None:
        if self._carry:
            return self._carry.popleft()
        try:
            return self.jobs.get(timeout=timeout)
        except queue.Empty:
            return None

    def _collect(self) -> list[Job]:
        first = self._next(None)
        assert first is not None
        batch, size, skipped = [first], len(first.items), []
        until = time.monotonic() + self.window_s
        while first.on_token is None and size < self.max_batch and (wait := until - time.monotonic()) > 0:
            if (job := self._next(wait)) is None:
                break
            if job.joins(first) and size + len(job.items) <= self.max_batch:
                batch.append(job)
                size += len(job.items)
            else:
                skipped.append(job)
        self._carry.extendleft(reversed(skipped))  # they lead the next batch
        return batch

    def _loop(self) -> None:
        while True:
            batch = self._collect()
            live = []
            for job in batch:
                if job.deadline.passed:
                    job.future.set_exception(DeadlineExceeded("deadline passed while queued"))
                else:
                    live.append(job)
            if not live:
                continue
            items = [item for job in live for item in job.items]
            self.batches += 1
            self.largest_batch = max(self.largest_batch, len(items))
            try:
                outcomes = self.run_batch(items, live[0].params, live[0].on_token)
            except Exception as exc:  # the model failed: every request in the batch learns why
                for job in live:
                    job.future.set_exception(exc)
                continue
            at = 0
            for job in live:
                job.future.set_result((outcomes[at : at + len(job.items)], len(items)))
                at += len(job.items)


def _gathered(parts: list[Future]) -> Future:
    """One future for a split request: its chunks' results in order, or the first failure."""
    whole: Future = Future()

    def settle(_: Future) -> None:
        if whole.done() or not all(p.done() for p in parts):
            failed = next((p for p in parts if p.done() and p.exception() is not None), None)
            if failed is not None and not whole.done():
                whole.set_exception(failed.exception())
            return
        results = [r for p in parts for r in p.result()[0]]
        whole.set_result((results, max(p.result()[1] for p in parts)))

    for part in parts:
        part.add_done_callback(settle)
    return whole
