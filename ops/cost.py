"""What serving costs, in the prices' terms: a month's bill for what the simulation served, and
one summary's price on each way of making it (the Lambda, the GPU endpoint, a managed API)."""

from __future__ import annotations

from ops.prices import SECONDS_PER_MONTH, ApiPrice, Prices
from ops.simulate import SimResult


def monthly_cost(result: SimResult, memory_mb: int, prices: Prices, snapstart: bool = False) -> dict[str, float]:
    """USD per month, by component, extrapolated from the simulated span (the trace's length)."""
    gb = memory_mb / 1024
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
    month = {k: v * _per_month(result) for k, v in parts.items()}
    month["total"] = sum(month.values())
    return month


def _per_month(result: SimResult) -> float:
    return SECONDS_PER_MONTH / result.duration_s if result.duration_s else 0.0


def summaries_per_month(result: SimResult, batch: int) -> float:
    """Items summarized per month: every user invocation carries ``batch`` of them; pings none."""
    return len(result.latencies_s) * batch * _per_month(result)


def lambda_usd(billed_s: float, memory_mb: int, prices: Prices, invocations: int = 1) -> float:
    """On-demand invocations: their requests and ``billed_s`` of duration between them (Lambda rounds
    each invocation up to the millisecond: under 1 ms per item, left out)."""
    return invocations * prices.request + billed_s * memory_mb / 1024 * prices.gb_second


def endpoint_item_usd(hourly_usd: float, items_per_s: float) -> float:
    """One item on an instance billed by the hour, kept busy at the measured throughput."""
    return hourly_usd / 3600 / items_per_s


def api_item_usd(tokens_in: float, tokens_out: float, price: ApiPrice) -> float:
    return (tokens_in * price.input_per_m + tokens_out * price.output_per_m) / 1_000_000


def per_thousand(usd_per_item: float, tokens_out_per_item: float | None) -> dict[str, float | None]:
    """The field's two unit prices: per 1,000 summaries and per 1,000 output tokens."""
    per_token = usd_per_item / tokens_out_per_item * 1000 if tokens_out_per_item else None
    return {
        "usd_per_1k_summaries": _figures(usd_per_item * 1000),
        "usd_per_1k_output_tokens": _figures(per_token) if per_token is not None else None,
    }


def _figures(usd: float) -> float:
    """Four significant figures: unit prices span from cents to millionths of a dollar."""
    return float(f"{usd:.4g}")
