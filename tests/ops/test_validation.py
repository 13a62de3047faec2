"""The planner agrees with SimFaaS (the published serverless simulator) in steady state: the
validation benchmark run as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_planner_is_within_ten_percent_of_simfaas(profile_file):
    out = subprocess.run(
        [sys.executable, "bench/warmpool_validate.py", "--part", "simfaas", "--profile", str(profile_file), "--json"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    rows = json.loads(out.stdout)["simfaas"]
    assert len(rows) == 5
    for row in rows:
        assert abs(row["cold_err_pct"]) <= 10, row
        assert abs(row["envs_err_pct"]) <= 10, row
