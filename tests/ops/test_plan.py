"""The planner from the command line: a table or JSON, a plot, a recommendation, SAM overrides."""

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from functions.cli import main
from ops.plan import PlanInputs, busy_window, plan
from ops.sam_overrides import overrides
from ops.strategies import Scheduled, TargetTracking, Warmers
from ops.traces import from_counts, read_trace

ROOT = Path(__file__).resolve().parents[2]
SPIKE = ROOT / "events" / "traces" / "spike.json"


def test_the_recommendation_is_the_cheapest_run_that_meets_the_target(profile):
    trace = read_trace(SPIKE).window(0, 1800)
    result = plan(PlanInputs(trace, profile, p99_target_ms=2500, memories_mb=(1769,)), workers=1, progress=False)
    meeting = [r for r in result["rows"] if r["meets_target"]]
    assert meeting and all(r["p99_ms"] <= 2500 and r["throttles"] == 0 for r in meeting)
    assert result["recommendation"]["monthly_usd"] == min(r["monthly_usd"] for r in meeting)
    kinds = {r["strategy"] for r in result["rows"]}
    assert kinds == {"on-demand", "snapstart", "provisioned", "target-tracking", "warmers"}  # no day: no schedule


def test_when_nothing_meets_the_target_the_lowest_p99_is_named(profile):
    trace = read_trace(SPIKE).window(0, 900)
    result = plan(PlanInputs(trace, profile, p99_target_ms=10, memories_mb=(1769,)), workers=1, progress=False)
    assert not result["recommendation"]["meets_target"]
    assert result["recommendation"]["p99_ms"] == min(r["p99_ms"] for r in result["rows"])


def test_the_busy_window_is_read_around_the_clock():
    evening = np.full(24, 10)
    evening[[22, 23, 0, 1]] = 100
    assert busy_window(from_counts("e", evening, 3600.0)) == (22 * 3600.0, 26 * 3600.0)
    assert busy_window(from_counts("short", np.full(5, 10), 3600.0)) is None


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (
            TargetTracking(0.7, 2, 9),
            {"WarmPool": "provisioned", "ProvisionedMin": "2", "ProvisionedMax": "9", "ProvisionedUtilization": "0.70"},
        ),
        (
            Scheduled(1, 4, (22 * 3600.0, 26 * 3600.0)),
            {
                "WarmPool": "provisioned",
                "ProvisionedMin": "1",
                "ScheduledMin": "4",
                "ScheduleStart": "cron(0 22 * * ? *)",
                "ScheduleEnd": "cron(0 2 * * ? *)",
            },
        ),
        (Warmers(3, interval_s=300), {"WarmPool": "warmers", "WarmerCount": "3", "WarmerRateMinutes": "5"}),
    ],
)
def test_each_strategy_becomes_its_sam_parameters(strategy, expected):
    params = overrides({"strategy": strategy.kind, "strategy_params": asdict(strategy), "memory_mb": 2048})
    assert params["MemorySize"] == "2048"
    assert expected.items() <= params.items()


def test_plan_then_apply_from_the_command_line(profile_file, tmp_path, capsys):
    out, png = tmp_path / "plan.json", tmp_path / "plan.png"
    argv = ["warmpool", "plan", "--trace", str(SPIKE), "--window", "0:30", "--profile", str(profile_file),
            "--p99-target", "2500", "--memory", "1769", "--out", str(out), "--plot", str(png)]  # fmt: skip
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "recommendation (meets)" in table and "on-demand" in table and "warmers" in table
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    best = data["recommendation"]
    assert main(["warmpool", "apply", "--plan", str(out)]) == 0
    command = capsys.readouterr().out.splitlines()[-1]
    assert command.startswith("sam deploy --parameter-overrides ")
    assert f"MemorySize={best['memory_mb']}" in command and "WarmPool=" in command


def test_memory_auto_sweeps_the_sizes_and_reports_each_strategys_best(profile_file, tmp_path, capsys):
    argv = ["warmpool", "plan", "--trace", str(SPIKE), "--window", "0:15", "--profile", str(profile_file),
            "--memory", "auto", "--out", str(tmp_path / "p.json"), "--plot", str(tmp_path / "p.png"),
            "--json"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    sizes = [r["memory_mb"] for r in data["by_memory"]]
    assert len(sizes) >= 5 and {r["memory_mb"] for r in data["rows"]} == set(sizes)
    assert {r["strategy"] for r in data["by_strategy"]} == {r["strategy"] for r in data["rows"]}
    fastest = min(data["by_memory"], key=lambda r: r["p50_ms"])
    assert fastest["memory_mb"] == max(sizes)  # more memory, more CPU, shorter service


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["warmpool", "apply", "--plan", "/nonexistent/plan.json"], "no plan"),
        (["warmpool", "plan", "--trace", str(SPIKE), "--memory", "lots"], "--memory takes MB"),
        (["warmpool", "plan", "--trace", str(SPIKE), "--window", "9-14"], "--window takes START:END"),
        (["warmpool", "plan", "--trace", str(SPIKE), "--profile", "/nonexistent.json"], "newsburst warmpool profile"),
    ],
)
def test_bad_input_is_a_one_line_error(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
