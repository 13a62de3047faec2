"""The warm-pool strategies the planner compares, one value type each: its kind (the registry
below, which the planner's rows, the simulator and the SAM overrides all read), its label, and
the template parameters that deploy it (``warm_pool`` plus ``sam_parameters``; names from
infra/template.yaml).

Every strategy also has on-demand environments: they serve what the warm pool cannot (the
spillover) and expire after ``idle_expiry_s`` without work, as Lambda's do (AWS keeps an idle
environment for minutes; the exact time is not published and varies).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

IDLE_EXPIRY_S = 600.0


@dataclass(frozen=True)
class OnDemand:
    idle_expiry_s: float = IDLE_EXPIRY_S
    kind = "on-demand"
    warm_pool = "on-demand"

    @property
    def label(self) -> str:
        return self.kind

    def sam_parameters(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class Provisioned:
    """N environments initialized ahead and never expired."""

    n: int
    idle_expiry_s: float = IDLE_EXPIRY_S
    kind = "provisioned"
    warm_pool = "provisioned"

    @property
    def label(self) -> str:
        return f"provisioned {self.n}"

    def sam_parameters(self) -> dict[str, str]:
        return {"ProvisionedMin": str(self.n), "ProvisionedMax": str(self.n)}


@dataclass(frozen=True)
class TargetTracking:
    """Application Auto Scaling on ProvisionedConcurrencyUtilization (one-minute averages) with
    its real reaction delays: scale out after ``out_points`` data points above the target, scale
    in after ``in_points`` below 90% of it; new environments are ready ``alloc_delay_s`` after the
    decision (allocation, then initialization)."""

    target: float = 0.7
    min_n: int = 1
    max_n: int = 100
    out_points: int = 3
    in_points: int = 15
    alloc_delay_s: float = 60.0
    idle_expiry_s: float = IDLE_EXPIRY_S
    kind = "target-tracking"
    warm_pool = "provisioned"  # provisioned concurrency with Application Auto Scaling on the alias

    @property
    def label(self) -> str:
        return f"target-tracking {self.target:.0%} min {self.min_n}"

    def sam_parameters(self) -> dict[str, str]:
        return {
            "ProvisionedMin": str(self.min_n),
            "ProvisionedMax": str(self.max_n),
            "ProvisionedUtilization": f"{self.target:.2f}",
        }


@dataclass(frozen=True)
class Scheduled:
    """``peak`` environments in a daily window (seconds of day; an end past 24 h wraps past
    midnight), ``base`` otherwise. Scheduled actions are set ahead of the window by the
    allocation time, so the environments are ready at its start."""

    base: int
    peak: int
    window: tuple[float, float]
    idle_expiry_s: float = IDLE_EXPIRY_S
    kind = "scheduled"
    warm_pool = "provisioned"  # provisioned concurrency with scheduled actions on the alias

    def __post_init__(self) -> None:
        object.__setattr__(self, "window", tuple(self.window))  # a plan read back from JSON has a list

    @property
    def label(self) -> str:
        start, end = self.window
        return f"scheduled {self.peak} {start / 3600:02.0f}-{end % 86_400 / 3600:02.0f}h, {self.base} else"

    def sam_parameters(self) -> dict[str, str]:
        start, end = self.window
        return {
            "ProvisionedMin": str(self.base),
            "ProvisionedMax": str(self.peak),
            "ScheduledMin": str(self.peak),
            "ScheduleStart": f"cron({int(start % 3600 // 60)} {int(start // 3600)} * * ? *)",
            "ScheduleEnd": f"cron({int(end % 3600 // 60)} {int(end // 3600) % 24} * * ? *)",  # may wrap midnight
        }

    def level(self, t: float) -> int:
        start, end = self.window
        of_day = t % 86_400
        return self.peak if start <= of_day < end or start <= of_day + 86_400 < end else self.base


@dataclass(frozen=True)
class SnapStart:
    """On-demand, but a new environment restores a snapshot taken after initialization."""

    restore_s: float = 0.5
    idle_expiry_s: float = IDLE_EXPIRY_S
    kind = "snapstart"
    warm_pool = "snapstart"

    @property
    def label(self) -> str:
        return self.kind

    def sam_parameters(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class Warmers:
    """``n`` concurrent scheduled pings every ``interval_s`` keep up to n environments from expiring."""

    n: int
    interval_s: float = 300.0
    ping_s: float = 0.05
    idle_expiry_s: float = IDLE_EXPIRY_S
    kind = "warmers"
    warm_pool = "warmers"

    @property
    def label(self) -> str:
        return f"warmers {self.n} every {self.interval_s / 60:.0f} min"

    def sam_parameters(self) -> dict[str, str]:
        return {"WarmerCount": str(self.n), "WarmerRateMinutes": str(max(1, math.ceil(self.interval_s / 60)))}


Strategy = OnDemand | Provisioned | TargetTracking | Scheduled | SnapStart | Warmers
BY_KIND: dict[str, type[Strategy]] = {
    cls.kind: cls for cls in (OnDemand, Provisioned, TargetTracking, Scheduled, SnapStart, Warmers)
}


def strategy_of(kind: str, params: dict) -> Strategy:
    """A planner row's strategy again, from its ``strategy`` and ``strategy_params``."""
    return BY_KIND[kind](**params)
