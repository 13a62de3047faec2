"""Unit prices: what one summary costs each way, computed by hand beside the code's answer."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ops.cost import api_item_usd, endpoint_item_usd, lambda_usd, per_thousand
from ops.plan import PlanInputs, _run
from ops.prices import ApiPrice, Prices
from ops.strategies import OnDemand, Provisioned
from ops.traces import Trace
from tests.ops.conftest import INIT_S, SERVICE_S

ROOT = Path(__file__).resolve().parents[2]
MEMORY = 1769  # one vCPU: the profile's one-thread seconds apply as they are


def test_the_plan_prices_a_summary_from_the_months_bill_cold_starts_included(profile):
    """Three items an hour apart: each a cold start (INIT + service), each one request."""
    inputs = PlanInputs(Trace("t", np.array([0.0, 3600.0, 7200.0]), 10_800.0), replace(profile, tokens_out=[40]),
                        3000.0, (MEMORY,), idle_expiry_s=600.0)  # fmt: skip
    row = _run((inputs, OnDemand(600.0), MEMORY))
    p = Prices()
    by_hand = p.request + (INIT_S + SERVICE_S) * MEMORY / 1024 * p.gb_second
    assert row["cold_starts"] == 3
    assert row["usd_per_1k_summaries"] == pytest.approx(1000 * by_hand, rel=1e-3)
    assert row["usd_per_1k_output_tokens"] == pytest.approx(1000 * by_hand / 40, rel=1e-3)


def test_a_warm_pool_idle_most_of_the_time_makes_each_summary_dearer(profile):
    inputs = PlanInputs(Trace("t", np.array([0.0, 3600.0, 7200.0]), 10_800.0), profile, 3000.0, (MEMORY,))
    on_demand = _run((inputs, OnDemand(600.0), MEMORY))
    provisioned = _run((inputs, Provisioned(1, 600.0), MEMORY))
    assert provisioned["cold_starts"] == 0
    assert provisioned["usd_per_1k_summaries"] > 10 * on_demand["usd_per_1k_summaries"]
    assert on_demand["usd_per_1k_output_tokens"] is None  # an old profile without summary lengths


def test_each_way_of_making_a_summary_by_hand():
    p = Prices()
    assert lambda_usd(0.5, 2048, p, invocations=4) == pytest.approx(4 * 0.2e-6 + 0.5 * 2 * p.gb_second)
    assert endpoint_item_usd(3.6, items_per_s=2.0) == pytest.approx(0.0005)  # 1 USD/1000 s, 2 items a second
    assert api_item_usd(1000, 100, ApiPrice(0.15, 0.60)) == pytest.approx(0.00015 + 0.00006)
    assert per_thousand(0.0002, 50) == {"usd_per_1k_summaries": 0.2, "usd_per_1k_output_tokens": 0.004}


def test_the_cost_bench_prices_every_way_and_the_bursts_savings(profile, tmp_path):
    """bench/cost.py on a profile, a GPU endpoint run and a story burst written here: the burst's
    story reuse saves what its billed seconds say, and every way has both unit prices."""
    profile_file = tmp_path / "profile.json"
    profile_file.write_text(json.dumps(replace(profile, tokens_out=[40]).to_json()))
    gpu = tmp_path / "gpu.json"
    cpu = {"provider": "CPUExecutionProvider"}
    rows = [{"concurrency": 1, "items_per_s": 1.0, "tokens_per_s": 32.0, "http_429": 0, **cpu},
            {"concurrency": 4, "items_per_s": 2.0, "tokens_per_s": 64.0, "http_429": 0, **cpu},
            {"concurrency": 16, "items_per_s": 9.0, "tokens_per_s": 99.0, "http_429": 3, **cpu}]  # fmt: skip
    gpu.write_text(json.dumps({"bundle": "teacher", "rows": rows}))
    stories = tmp_path / "stories.json"
    modes = [{"mode": "exact cache only", "items": 10, "model_runs": 8, "billed_s": 8.1, "billed_model_s": 8.0},
             {"mode": "story reuse", "items": 10, "model_runs": 4, "billed_s": 4.2, "billed_model_s": 4.0}]  # fmt: skip
    stories.write_text(json.dumps({"arrivals": "test", "modes": modes}))
    argv = [sys.executable, "bench/cost.py", "--profile", str(profile_file), "--gpu-bench", str(gpu),
            "--stories-bench", str(stories), "--gpu-hourly", "3.6", "--burst-memory", "1024"]  # fmt: skip
    out = subprocess.run([*argv, "--json"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    ways = {(w["way"], w["size"]): w for w in result["ways"]}
    endpoint = ways[("GPU endpoint", "3.6 USD/h")]
    assert endpoint["usd_per_1k_summaries"] == pytest.approx(0.5)  # 2 items/s, the best level without 429s
    assert endpoint["usd_per_1k_output_tokens"] == pytest.approx(0.5 / 32, rel=1e-3) and "no GPU" in endpoint["basis"]
    lam = ways[("Lambda, model run", "1769 MB")]
    assert lam["basis"] == "measured" and lam["s_per_summary"] == SERVICE_S
    assert lam["usd_per_1k_output_tokens"] == pytest.approx(lam["usd_per_1k_summaries"] / 40, rel=1e-3)
    burst = {b["mode"]: b for b in result["burst"]}
    assert burst["no cache (estimated)"]["billed_s"] == 10.0  # 10 items at the 1.0 s mean billed model run
    gb_s = Prices().gb_second
    saved = 1 - (10 * 0.2e-6 + 4.2 * gb_s) / (10 * 0.2e-6 + 10.0 * gb_s)
    assert burst["story reuse"]["saved_vs_no_cache_pct"] == pytest.approx(100 * saved, abs=0.1)
    assert 0 < burst["exact cache only"]["saved_vs_no_cache_pct"] < burst["story reuse"]["saved_vs_no_cache_pct"]
    table = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "GPU endpoint" in table and "managed API" in table and "story reuse" in table


def test_the_cost_bench_says_which_measurement_is_missing(tmp_path, profile):
    profile_file = tmp_path / "profile.json"
    profile_file.write_text(json.dumps(profile.to_json()))
    argv = [sys.executable, "bench/cost.py", "--profile", str(profile_file), "--gpu-bench", str(tmp_path / "none.json")]
    run = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 1 and "python bench/gpu_endpoint.py" in run.stderr
