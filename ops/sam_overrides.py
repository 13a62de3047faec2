"""The recommendation as SAM parameter overrides, for ``newsburst warmpool apply``: each strategy
says its own parameters (``ops.strategies``)."""

from __future__ import annotations

from ops.strategies import strategy_of


def overrides(row: dict) -> dict[str, str]:
    """Parameter -> value for one planner row (its ``strategy_params`` and memory)."""
    strategy = strategy_of(row["strategy"], row["strategy_params"])
    return {"WarmPool": strategy.warm_pool, "MemorySize": str(row["memory_mb"]), **strategy.sam_parameters()}


def command(params: dict[str, str]) -> str:
    return "sam deploy --parameter-overrides " + " ".join(f"{k}={v}" for k, v in params.items())
