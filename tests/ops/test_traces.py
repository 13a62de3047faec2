"""Both trace formats become arrival times that keep the source's counts."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from ops.traces import read_trace

ROOT = Path(__file__).resolve().parents[2]
AZURE = ROOT.parent / "shared" / "traces" / "azure-functions-2019"


def _azure_small(path: Path, rows: dict[str, list[int]]) -> Path:
    """The small samples' layout: HashOwner, HashApp, HashFunction, Trigger, then minutes 1..N."""
    n = len(next(iter(rows.values())))
    lines = ["HashOwner,HashApp,HashFunction,Trigger," + ",".join(str(m) for m in range(1, n + 1))]
    lines += [f"o,a,{fn},http," + ",".join(map(str, counts)) for fn, counts in rows.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _azure_100(path: Path, rows: dict[str, list[int]]) -> Path:
    """sample-100's layout: HashFunction, HashApp, HashOwner, then minute_1..minute_N."""
    n = len(next(iter(rows.values())))
    lines = ["HashFunction,HashApp,HashOwner," + ",".join(f"minute_{m}" for m in range(1, n + 1))]
    lines += [f"{fn},a,o," + ",".join(map(str, counts)) for fn, counts in rows.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("writer", [_azure_small, _azure_100])
def test_an_azure_file_gives_the_busiest_function_with_its_counts_per_minute(tmp_path, writer):
    path = writer(tmp_path / "inv.csv", {"aaaa1": [1, 0, 2], "bbbb2": [5, 0, 7]})
    trace = read_trace(path)
    assert trace.name == "azure:bbbb2"
    assert trace.duration_s == 180
    assert np.bincount((trace.arrivals // 60).astype(int)).tolist() == [5, 0, 7]
    assert list(trace.arrivals) == sorted(trace.arrivals)
    assert read_trace(path, function="aaaa").invocations == 3
    assert read_trace(path, function="bbbb").invocations == trace.invocations == 12  # the busiest by default


def test_an_ambiguous_or_unknown_function_is_refused(tmp_path):
    path = _azure_small(tmp_path / "inv.csv", {"abc1": [1], "abc2": [2]})
    with pytest.raises(ValueError, match="2 functions match"):
        read_trace(path, function="abc")
    with pytest.raises(ValueError, match="0 functions match"):
        read_trace(path, function="zzz")


def test_newsburst_counts_and_timestamps(tmp_path):
    counts = tmp_path / "c.json"
    counts.write_text(json.dumps({"bin_s": 1, "counts": [0, 3, 1]}))
    trace = read_trace(counts)
    assert trace.invocations == 4 and trace.duration_s == 3
    assert ((trace.arrivals >= 1) & (trace.arrivals < 3)).all()
    stamps = tmp_path / "t.json"
    stamps.write_text(json.dumps({"arrivals_s": [5.0, 1.0, 2.5], "duration_s": 10}))
    assert read_trace(stamps).arrivals.tolist() == [1.0, 2.5, 5.0]


@pytest.mark.parametrize(
    ("content", "message"),
    [("{}", "counts"), ("not json", "not a UTF-8 JSON"), ('{"counts": [1, -1]}', ">= 0")],
)
def test_a_bad_newsburst_trace_says_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        read_trace(path)


def test_a_missing_file_or_a_csv_without_minutes_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no such trace"):
        read_trace(tmp_path / "nope.json")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not an Azure"):
        read_trace(bad)


def test_scaling_keeps_the_shape_and_a_window_cuts_it():
    trace = read_trace(ROOT / "events" / "traces" / "spike.json")
    half = trace.scaled(0.5)
    assert abs(half.invocations / trace.invocations - 0.5) < 0.05
    assert half.scale == 0.5
    doubled = trace.scaled(2.0)
    assert doubled.invocations == 2 * trace.invocations
    window = trace.window(600, 900)
    assert window.duration_s == 300 and (window.arrivals < 300).all()
    assert window.invocations == ((trace.arrivals >= 600) & (trace.arrivals < 900)).sum()


def test_the_shipped_traces_have_their_stated_shapes():
    traces = {n: read_trace(ROOT / "events" / "traces" / f"{n}.json") for n in ("steady", "spike", "daily")}
    spike = traces["spike"]
    before = ((spike.arrivals >= 300) & (spike.arrivals < 600)).sum() / 300
    peak = ((spike.arrivals >= 660) & (spike.arrivals < 720)).sum() / 60
    after = ((spike.arrivals >= 6600) & (spike.arrivals < 7200)).sum() / 600
    assert peak > 6 * before and after < 2 * before  # 10x within a minute, back within the hour
    hours = np.bincount((traces["daily"].arrivals // 3600).astype(int), minlength=24)
    assert hours.argmax() in (12, 13) and hours[3] < hours.max() / 10
    per_min = np.bincount((traces["steady"].arrivals // 60).astype(int))
    assert per_min.std() < 0.3 * per_min.mean()


@pytest.mark.skipif(not AZURE.exists(), reason="the shared Azure trace samples are beside the checkout only")
def test_the_real_azure_samples_parse_in_both_layouts():
    small = read_trace(AZURE / "sample-5" / "invocations.csv")
    big = read_trace(AZURE / "sample-100" / "100_inv.csv")
    assert small.duration_s == big.duration_s == 86_400
    with open(AZURE / "sample-5" / "invocations.csv", newline="") as fh:
        per_function = [sum(int(v) for k, v in row.items() if k.isdigit()) for row in csv.DictReader(fh)]
    assert small.invocations == max(per_function)  # the busiest function
    assert big.invocations > 100_000
