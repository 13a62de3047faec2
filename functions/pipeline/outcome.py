"""What the pipeline's parts hand each other: an item's outcome, and the sinks they report to."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit

from functions.schemas import SummaryResult


@dataclass(frozen=True)
class ItemFailure:
    item_id: str
    reason: str
    retryable: bool  # True: hand it back for a retry; False: retrying cannot help (dead-letter it)
    late: bool = False  # the invocation's deadline came first (the HTTP API answers 202 and hands it on)


Outcome = SummaryResult | ItemFailure


class MetricSink(Protocol):
    def add_metric(self, name: str, unit: MetricUnit, value: float) -> None: ...


class LogSink(Protocol):
    def info(self, msg: str, *args, **kwargs) -> None: ...
    def warning(self, msg: str, *args, **kwargs) -> None: ...


def elapsed_ms(start: float) -> float:
    """Milliseconds since ``start`` (time.perf_counter), as every result's timings carry them."""
    return round((time.perf_counter() - start) * 1000, 2)
