"""The recommendation as SAM parameter overrides: the names the template's warm-pool
parameters carry (infra/template.yaml), written once here for ``newsburst warmpool apply``."""

from __future__ import annotations

import math

# the strategy each planner kind deploys as (target tracking and schedules are provisioned
# concurrency with Application Auto Scaling on the alias)
WARM_POOL = {
    "on-demand": "on-demand",
    "provisioned": "provisioned",
    "target-tracking": "provisioned",
    "scheduled": "provisioned",
    "snapstart": "snapstart",
    "warmers": "warmers",
}


def overrides(row: dict) -> dict[str, str]:
    """Parameter -> value for one planner row (its ``strategy_params`` and memory)."""
    kind, p = row["strategy"], row["strategy_params"]
    out = {"WarmPool": WARM_POOL[kind], "MemorySize": str(row["memory_mb"])}
    if kind == "provisioned":
        out |= {"ProvisionedMin": str(p["n"]), "ProvisionedMax": str(p["n"])}
    elif kind == "target-tracking":
        out |= {
            "ProvisionedMin": str(p["min_n"]),
            "ProvisionedMax": str(p["max_n"]),
            "ProvisionedUtilization": f"{p['target']:.2f}",
        }
    elif kind == "scheduled":
        start, end = p["window"]
        out |= {
            "ProvisionedMin": str(p["base"]),
            "ProvisionedMax": str(p["peak"]),
            "ScheduledMin": str(p["peak"]),
            "ScheduleStart": f"cron({int(start % 3600 // 60)} {int(start // 3600)} * * ? *)",
            "ScheduleEnd": f"cron({int(end % 3600 // 60)} {int(end // 3600) % 24} * * ? *)",  # may wrap midnight
        }
    elif kind == "warmers":
        out |= {"WarmerCount": str(p["n"]), "WarmerRateMinutes": str(max(1, math.ceil(p["interval_s"] / 60)))}
    return out


def command(params: dict[str, str]) -> str:
    return "sam deploy --parameter-overrides " + " ".join(f"{k}={v}" for k, v in params.items())
