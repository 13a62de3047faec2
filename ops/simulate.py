"""A discrete-event simulation (simpy) of one Lambda function's fleet serving a trace.

Lambda's placement, as far as it is documented and observed: an invocation goes to an idle
provisioned environment first, then to the most recently used idle on-demand one, else a new
environment starts (a cold start: INIT, or a SnapStart restore) unless the concurrency limit
is reached, in which case the invocation is throttled and retried when an environment frees
(as SQS and asynchronous invocations are). Each invocation holds its environment for the whole
of its service time: Lambda gives an environment one invocation at a time.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import simpy

from ops.lambda_model import ServiceProfile
from ops.strategies import Provisioned, Scheduled, SnapStart, Strategy, TargetTracking, Warmers
from ops.traces import Trace

METRIC_PERIOD_S = 60.0  # CloudWatch's one-minute data points


@dataclass
class Sandbox:
    provisioned: bool
    last_used: float = 0.0
    alive: bool = True


@dataclass
class SimResult:
    latencies_s: np.ndarray  # user invocations only
    cold: np.ndarray  # bool per user invocation
    spillover: int = 0  # user invocations served on-demand while a warm pool was configured
    throttles: int = 0
    pings: int = 0
    cold_pings: int = 0
    ondemand_busy_s: float = 0.0  # duration billed on on-demand environments (INIT included)
    provisioned_busy_s: float = 0.0
    provisioned_configured_s: float = 0.0  # environment-seconds of provisioned concurrency
    restores: int = 0
    peak_concurrency: int = 0
    environment_s: float = 0.0  # time integral of live environments
    duration_s: float = 0.0
    scaling: list[tuple[float, int]] = field(default_factory=list)  # (time, provisioned level) changes

    @property
    def invocations(self) -> int:
        return len(self.latencies_s) + self.pings

    @property
    def cold_starts(self) -> int:
        return int(self.cold.sum())

    def percentile_ms(self, p: float) -> float:
        return float(np.percentile(self.latencies_s, p) * 1000) if len(self.latencies_s) else 0.0

    @property
    def mean_environments(self) -> float:
        return self.environment_s / self.duration_s if self.duration_s else 0.0


class SimulatedFleet:
    """The simulated Lambda environments of one function (simpy processes), not real containers."""

    def __init__(
        self,
        sim: simpy.Environment,
        strategy: Strategy,
        profile: ServiceProfile,
        memory_mb: int,
        limit: int,
        hit_rate: float,
        batch: int,
        seed: int,
    ) -> None:
        self.sim, self.strategy, self.limit = sim, strategy, limit
        self.rng = np.random.default_rng(seed)
        self.sampler = profile.sampler(memory_mb, self.rng)
        self.hit_rate, self.batch = hit_rate, batch
        self.idle_provisioned: list[Sandbox] = []
        self.idle_ondemand: list[Sandbox] = []  # most recently used last
        self.waiting: deque[simpy.Event] = deque()
        self.busy = 0
        self.busy_provisioned = 0
        self.live = 0
        self.provisioned_level = 0  # configured (billed) provisioned environments
        self.provisioned_live = 0  # provisioned environments that exist (ready or busy)
        self.latencies: list[float] = []
        self.cold: list[bool] = []
        self.out = SimResult(np.empty(0), np.empty(0, bool))
        self._stamp = 0.0
        self._busy_prov_area = 0.0

    # -- bookkeeping of time integrals -------------------------------------------------------
    def _tick(self) -> None:
        dt = self.sim.now - self._stamp
        self.out.environment_s += self.live * dt
        self.out.provisioned_configured_s += self.provisioned_level * dt
        self._busy_prov_area += self.busy_provisioned * dt
        self._stamp = self.sim.now

    # -- the provisioned pool ----------------------------------------------------------------
    def set_provisioned(self, level: int, ready_after_s: float = 0.0) -> None:
        """Configure ``level`` provisioned environments; new ones are ready after the delay."""
        self._tick()
        change = level - self.provisioned_level
        self.provisioned_level = level
        self.out.scaling.append((self.sim.now, level))
        if change > 0:
            for _ in range(change):
                self.sim.process(self._add_provisioned(ready_after_s))
        elif change < 0:
            while self.provisioned_live > self.provisioned_level and self.idle_provisioned:
                self.idle_provisioned.pop().alive = False
                self.provisioned_live -= 1
                self.live -= 1

    def _add_provisioned(self, delay: float):
        if delay:
            yield self.sim.timeout(delay)
        self._tick()
        self.provisioned_live += 1
        self.live += 1
        self._release(Sandbox(provisioned=True, last_used=self.sim.now))

    # -- placement -----------------------------------------------------------------------------
    def _acquire(self) -> Sandbox | None:
        if self.idle_provisioned:
            return self.idle_provisioned.pop()
        if self.idle_ondemand:
            return self.idle_ondemand.pop()
        return None

    def _release(self, box: Sandbox) -> None:
        box.last_used = self.sim.now
        if box.provisioned and self.provisioned_live > self.provisioned_level:  # scaled in while it was busy
            box.alive = False
            self.provisioned_live -= 1
            self.live -= 1
            if self.waiting:  # a slot under the limit, but no warm environment: the waiter starts one
                self.waiting.popleft().succeed(None)
            return
        if self.waiting:
            self.waiting.popleft().succeed(box)  # straight to a throttled invocation
        elif box.provisioned:
            self.idle_provisioned.append(box)
        else:
            self.idle_ondemand.append(box)
            self.sim.process(self._expire(box, box.last_used))

    def _expire(self, box: Sandbox, stamp: float):
        yield self.sim.timeout(self.strategy.idle_expiry_s)
        if box.alive and box.last_used == stamp and box in self.idle_ondemand:
            self._tick()
            self.idle_ondemand.remove(box)
            box.alive = False
            self.live -= 1

    def invoke(self, user: bool, service_s: float | None = None):
        """One invocation from arrival to response."""
        start = self.sim.now
        box = self._acquire()
        if box is None and self.busy >= self.limit:
            if user:
                self.out.throttles += 1
            wait = self.sim.event()
            self.waiting.append(wait)
            box = yield wait
        self._tick()
        self.busy += 1
        self.out.peak_concurrency = max(self.out.peak_concurrency, self.busy)
        cold = box is None
        init = 0.0
        if cold:
            box = Sandbox(provisioned=False)
            self.live += 1
            if isinstance(self.strategy, SnapStart):
                init = self.strategy.restore_s
                self.out.restores += 1
            else:
                init = self.sampler.init()
        if service_s is None:
            service_s = self.sampler.hit() if self.rng.random() < self.hit_rate else self.sampler.service(self.batch)
        if box.provisioned:
            self.busy_provisioned += 1
        yield self.sim.timeout(init + service_s)
        self._tick()
        self.busy -= 1
        if box.provisioned:
            self.busy_provisioned -= 1
            self.out.provisioned_busy_s += service_s
        else:
            self.out.ondemand_busy_s += init + service_s
            if user and self.provisioned_level > 0:
                self.out.spillover += 1
        if user:
            self.latencies.append(self.sim.now - start)
            self.cold.append(cold)
        else:
            self.out.pings += 1
            self.out.cold_pings += cold
        self._release(box)

    # -- the strategies' control loops ---------------------------------------------------------
    def target_tracking(self, policy: TargetTracking):
        points: list[float] = []
        last_area = 0.0
        while True:
            yield self.sim.timeout(METRIC_PERIOD_S)
            self._tick()
            used, last_area = self._busy_prov_area - last_area, self._busy_prov_area
            level = self.provisioned_level
            points.append(used / (METRIC_PERIOD_S * level) if level else 1.0)
            recent_out, recent_in = points[-policy.out_points :], points[-policy.in_points :]
            if len(recent_out) == policy.out_points and min(recent_out) > policy.target and level < policy.max_n:
                want = math.ceil(level * float(np.mean(recent_out)) / policy.target)
                self.set_provisioned(min(policy.max_n, max(want, level + 1)), policy.alloc_delay_s)
                points.clear()
            elif len(recent_in) == policy.in_points and max(recent_in) < 0.9 * policy.target and level > policy.min_n:
                want = math.ceil(level * float(np.mean(recent_in)) / policy.target)
                self.set_provisioned(max(policy.min_n, min(want, level - 1)))
                points.clear()

    def schedule(self, policy: Scheduled, until: float):
        while self.sim.now < until:
            level = policy.level(self.sim.now)
            if level != self.provisioned_level:
                self.set_provisioned(level)
            yield self.sim.timeout(METRIC_PERIOD_S)

    def warmers(self, policy: Warmers, until: float):
        while self.sim.now < until:
            for _ in range(policy.n):
                self.sim.process(self.invoke(user=False, service_s=policy.ping_s))
            yield self.sim.timeout(policy.interval_s)


def simulate(
    trace: Trace,
    strategy: Strategy,
    profile: ServiceProfile,
    memory_mb: int = 3008,
    limit: int = 1000,
    hit_rate: float = 0.0,
    batch: int = 1,
    seed: int = 0,
) -> SimResult:
    """Serve every arrival of the trace; the run ends when the last invocation has finished."""
    sim = simpy.Environment()
    fleet = SimulatedFleet(sim, strategy, profile, memory_mb, limit, hit_rate, batch, seed)
    if isinstance(strategy, Provisioned):
        fleet.set_provisioned(strategy.n)
    elif isinstance(strategy, TargetTracking):
        fleet.set_provisioned(strategy.min_n)
        sim.process(fleet.target_tracking(strategy))
    elif isinstance(strategy, Scheduled):
        sim.process(fleet.schedule(strategy, trace.duration_s))
    elif isinstance(strategy, Warmers):
        sim.process(fleet.warmers(strategy, trace.duration_s))

    def arrivals():
        for t in trace.arrivals:
            yield sim.timeout(t - sim.now)
            sim.process(fleet.invoke(user=True))

    done = sim.process(arrivals())
    sim.run(until=done)
    while fleet.busy or fleet.waiting:  # drain what is still running, without the control loops' ticks
        sim.run(until=sim.now + 60)
    end = max(trace.duration_s, sim.now)
    if end > sim.now:
        sim.run(until=end)
    fleet._tick()
    out = fleet.out
    out.latencies_s = np.asarray(fleet.latencies)
    out.cold = np.asarray(fleet.cold, dtype=bool)
    out.duration_s = end
    return out
