"""A month's bill for what the simulation served, in the prices' terms."""

from __future__ import annotations

from ops.prices import SECONDS_PER_MONTH, Prices
from ops.simulate import SimResult


def monthly_cost(result: SimResult, memory_mb: int, prices: Prices, snapstart: bool = False) -> dict[str, float]:
    """USD per month, by component, extrapolated from the simulated span (the trace's length)."""
    gb = memory_mb / 1024
    per_month = SECONDS_PER_MONTH / result.duration_s if result.duration_s else 0.0
    parts = {
        "requests": result.invocations * prices.request,
        "duration": result.ondemand_busy_s * gb * prices.gb_second,
        "provisioned": result.provisioned_configured_s * gb * prices.provisioned_gb_second
        + result.provisioned_busy_s * gb * prices.provisioned_duration_gb_second,
        "snapstart": (
            result.duration_s * gb * prices.snapstart_cache_gb_second
            + result.restores * gb * prices.snapstart_restore_gb
        )
        if snapstart
        else 0.0,
    }
    month = {k: v * per_month for k, v in parts.items()}
    month["total"] = sum(month.values())
    return month
