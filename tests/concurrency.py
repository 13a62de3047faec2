"""Run a function from many threads released at once, for races that only show under contention."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_concurrently(n: int, fn: Callable[[int], object]) -> list:
    out: list = [None] * n
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        out[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out
