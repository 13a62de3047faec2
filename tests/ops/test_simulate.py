"""The simulator on cases whose answers are known without it."""

import numpy as np
import pytest

from ops.cost import monthly_cost
from ops.lambda_model import vcpus
from ops.prices import SECONDS_PER_MONTH, Prices
from ops.simulate import simulate
from ops.strategies import OnDemand, Provisioned, Scheduled, SnapStart, TargetTracking, Warmers
from ops.traces import Trace, from_counts
from tests.ops.conftest import INIT_S, SERVICE_S

MEMORY = 1769  # one vCPU: the profile's one-thread figures apply as they are


def trace(*arrivals: float, duration: float | None = None) -> Trace:
    return Trace("t", np.array(arrivals, dtype=float), duration or max(arrivals) + 60)


def test_a_single_request_after_a_long_idle_is_exactly_one_cold_start(profile):
    result = simulate(trace(0.0, 5_000.0, 5_010.0), OnDemand(idle_expiry_s=600), profile, MEMORY)
    assert result.cold.tolist() == [True, True, False]
    assert result.latencies_s.tolist() == [INIT_S + SERVICE_S, INIT_S + SERVICE_S, SERVICE_S]


def test_provisioned_at_peak_concurrency_gives_no_cold_starts(profile):
    bursty = from_counts("burst", np.array([30, 0, 0, 45, 5]), bin_s=10.0, seed=1)
    on_demand = simulate(bursty, OnDemand(), profile, MEMORY)
    assert on_demand.cold_starts > 0
    result = simulate(bursty, Provisioned(on_demand.peak_concurrency), profile, MEMORY)
    assert result.cold_starts == 0 and result.spillover == 0
    assert result.percentile_ms(99) == pytest.approx(SERVICE_S * 1000)
    short = simulate(bursty, Provisioned(max(1, on_demand.peak_concurrency // 3)), profile, MEMORY)
    assert short.spillover > 0 and short.cold_starts > 0


def test_at_the_concurrency_limit_an_invocation_waits_for_a_free_environment(profile):
    result = simulate(trace(0.0, 0.0), OnDemand(), profile, MEMORY, limit=1)
    assert result.throttles == 1 and result.peak_concurrency == 1
    assert sorted(result.latencies_s.tolist()) == [INIT_S + SERVICE_S, INIT_S + 2 * SERVICE_S]


def test_snapstart_pays_the_restore_instead_of_the_init(profile):
    result = simulate(trace(0.0), SnapStart(restore_s=0.25), profile, MEMORY)
    assert result.latencies_s.tolist() == [0.25 + SERVICE_S] and result.restores == 1


def test_warmers_keep_an_environment_past_the_idle_expiry(profile):
    gap = trace(10.0, 3_010.0, duration=3_100.0)
    assert simulate(gap, OnDemand(idle_expiry_s=600), profile, MEMORY).cold.tolist() == [True, True]
    warmed = simulate(gap, Warmers(1, interval_s=300, idle_expiry_s=600), profile, MEMORY)
    assert warmed.cold.tolist() == [False, False]  # the first ping, at t=0, started it
    assert warmed.pings == 11 and warmed.cold_pings == 1


def test_target_tracking_scales_out_after_three_minutes_above_target_and_in_after_fifteen(profile):
    busy = from_counts("busy", np.array([600] * 10 + [0] * 30), bin_s=60.0, seed=2)  # 10/s for 10 min
    result = simulate(busy, TargetTracking(0.7, min_n=1, max_n=20, alloc_delay_s=60), profile, MEMORY)
    (first_out, _), *_ = [(t, n) for t, n in result.scaling if n > 1]
    assert first_out == pytest.approx(180, abs=1)  # three one-minute data points
    assert max(n for _, n in result.scaling) >= 3  # each step waits for three fresh data points
    assert result.scaling[-1][1] < max(n for _, n in result.scaling)  # scaled back in when idle


def test_a_schedule_holds_its_level_only_in_its_window(profile):
    day = from_counts("day", np.full(24, 60), bin_s=3600.0, seed=3)
    result = simulate(day, Scheduled(0, 2, (8 * 3600.0, 10 * 3600.0)), profile, MEMORY)
    assert result.provisioned_configured_s == pytest.approx(2 * 2 * 3600)
    overnight = simulate(day, Scheduled(1, 3, (22 * 3600.0, 26 * 3600.0)), profile, MEMORY)  # 22h to 02h
    assert overnight.provisioned_configured_s == pytest.approx(3 * 4 * 3600 + 1 * 20 * 3600)


def test_the_monthly_bill_matches_the_hand_computed_one(profile):
    """Two provisioned environments for a day, 100 one-second invocations on them."""
    day = Trace("d", np.arange(100) * 600.0, 86_400.0)
    result = simulate(day, Provisioned(2), profile, 2048)  # 2 GB
    assert result.cold_starts == 0
    p = Prices()
    service = SERVICE_S / (1 / ((1 - 0.8) + 0.8 / vcpus(2048)))  # Amdahl with p=0.8 from 1.0 s -> 0.6 s
    by_hand_day = (
        100 * p.request
        + 2 * 86_400 * 2 * p.provisioned_gb_second
        + 100 * service * 2 * p.provisioned_duration_gb_second
    )
    bill = monthly_cost(result, 2048, p)
    assert bill["total"] == pytest.approx(by_hand_day * SECONDS_PER_MONTH / 86_400, rel=1e-6)
    assert bill["duration"] == 0 and bill["snapstart"] == 0


def test_on_demand_bills_the_init_and_snapstart_bills_cache_and_restores(profile):
    one = trace(0.0, duration=86_400.0)
    p = Prices()
    gb = MEMORY / 1024
    scale = SECONDS_PER_MONTH / 86_400
    on_demand = monthly_cost(simulate(one, OnDemand(), profile, MEMORY), MEMORY, p)
    assert on_demand["duration"] == pytest.approx((INIT_S + SERVICE_S) * gb * p.gb_second * scale)
    snap = monthly_cost(simulate(one, SnapStart(0.5), profile, MEMORY), MEMORY, p, snapstart=True)
    cache_and_restore = 86_400 * gb * p.snapstart_cache_gb_second + gb * p.snapstart_restore_gb
    assert snap["snapstart"] == pytest.approx(cache_and_restore * scale)


def test_memory_buys_cpu_as_lambda_gives_it(profile):
    assert vcpus(1769) == 1 and vcpus(10_240) == pytest.approx(10_240 / 1769)
    assert profile.speedup(884) == pytest.approx(884 / 1769)  # a CPU share below one vCPU
    assert profile.speedup(3538) == pytest.approx(1 / 0.6)  # two vCPUs: the measured 2-thread time
    assert profile.measured(1769) and profile.measured(3538) and not profile.measured(10_240)
    with pytest.raises(ValueError, match=r"128\.\.10240"):
        vcpus(64)


def test_the_length_fit_reads_the_growth_of_service_with_the_article():
    from ops.lambda_model import ServiceProfile

    profile = ServiceProfile(init_s=[1.0], service_s={1: [0.3, 0.5, 0.7]}, tokens_in=[100, 200, 300])
    intercept, slope = profile.length_fit()
    assert intercept == pytest.approx(0.1) and slope == pytest.approx(0.002)
