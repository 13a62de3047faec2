"""The load test on the tiny bundle: real container processes, the shared cache, the endpoint process."""

import json

import numpy as np

from ops.loadtest import LoadtestInputs, loadtest
from ops.profile import measure_profile
from ops.traces import Trace
from tests.factories import long_item, news_item


def test_a_replay_counts_cold_starts_expiries_hits_and_escalations(tiny_export, tmp_path):
    out, _ = tiny_export
    articles = tmp_path / "articles.jsonl"
    rows = [news_item("lee-170"), news_item("lee-290"), long_item()]  # the long one is over the local budget
    articles.write_text("".join(json.dumps({"id": r["id"], "article": r["body"]}) + "\n" for r in rows))
    # one container, 8 s idle expiry: cold at 0, warm at 4, 8 and 12 (at most 4 s idle), expired by 40 (cold
    # again: 28 s after the last arrival, so even a loaded machine's late answers leave it 8 s idle); 60 is
    # past the time bound and never sent
    trace = Trace("steps", np.array([0.0, 4.0, 8.0, 12.0, 40.0, 60.0]), 65.0)
    inputs = LoadtestInputs(
        trace, out / "student", out / "teacher", idle_expiry_s=8, max_containers=1, repeat=0.4,
        articles=articles, max_requests=10, max_seconds=50,
    )  # fmt: skip
    result = loadtest(inputs, progress=False)
    assert result["errors"] == []
    assert result["requests"] == result["completed"] == 5 and result["unfinished"] == 0
    assert result["cold_starts"] == 2 and result["expired_containers"] >= 1
    assert result["peak_containers"] == 1
    assert result["cache_hits"] == 2  # the two wire copies, each after its original finished
    assert result["escalations"] >= 1 and result["fallbacks"] == 0  # the endpoint process answered
    assert result["dlq"] == result["dead_letter_files"] == 0
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]


def test_past_its_time_bound_the_load_test_ends_what_is_in_flight_and_counts_it(tiny_export):
    import time

    out, _ = tiny_export
    trace = Trace("burst", np.linspace(0.0, 0.2, 30), 1.0)  # 30 items on one container: seconds of work
    inputs = LoadtestInputs(trace, out / "student", max_containers=1, max_seconds=1, grace_s=0.5)
    start = time.monotonic()
    result = loadtest(inputs, progress=False)
    assert time.monotonic() - start < 30  # a cold start alone is longer than the bound: nothing waits for it
    assert result["requests"] == 30 and result["unfinished"] >= 1
    assert result["completed"] + result["unfinished"] == 30


def test_the_profile_measures_through_the_entry_point_and_the_planner_reads_it(tiny_export, tmp_path):
    from ops.lambda_model import ServiceProfile

    profile = measure_profile(tiny_export[0] / "student", n_articles=2, cold_runs=1, threads=(1,), batch_sizes=(1, 2))
    assert len(profile.init_s) == 1 and profile.init_s[0] > 0
    assert len(profile.service_s[1]) == len(profile.tokens_in) == len(profile.tokens_out) == 2
    assert min(profile.tokens_in) > 0 and min(profile.tokens_out) > 0 and profile.mean_tokens_out > 0
    assert set(profile.batch_s_per_item) == {1, 2}
    assert profile.hit_s < min(profile.service_s[1])  # a cache hit skips the model
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile.to_json()))
    assert ServiceProfile.read(path).to_json() == profile.to_json()  # every measured field round-trips
