"""The load helper behind "make test three times in a row on a busy machine" (issue 22)."""

import json
import multiprocessing
import sys

from tests.under_load import main


def test_runs_stop_at_the_first_failure_and_the_load_ends(capsys):
    code = main(
        [
            "--busy",
            "1",
            "--times",
            "3",
            "--json",
            "--",
            sys.executable,
            "-c",
            "import sys; print('1 failed'); sys.exit(1)",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and not out["passed"]
    assert [(r["run"], r["exit_code"], r["last_line"]) for r in out["runs"]] == [(1, 1, "1 failed")]
    assert multiprocessing.active_children() == []


def test_every_run_passing_is_a_pass(capsys):
    assert main(["--busy", "1", "--times", "2", "--json", "--", sys.executable, "-c", "print('2 passed')"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] and [r["last_line"] for r in out["runs"]] == ["2 passed", "2 passed"]
