"""The benchmarks and the Lambda packager run end to end on the tiny bundle (figures aside)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*argv: str, timeout: int = 600) -> dict:
    out = subprocess.run([sys.executable, *argv, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.splitlines()[-1])


def test_the_burst_bench_runs_both_modes_and_both_caches(student_dir):
    result = _run("bench/burst.py", "--items", "20", "--repeat", "0.3", "--bundle", str(student_dir))
    modes = {r["mode"]: r for r in result["modes"]}
    assert set(modes) == {"batched", "one by one"}
    assert all(r["failed"] == 0 and r["cache_hits"] >= 1 for r in modes.values())
    assert [h["cache"] for h in result["cache_hit_latency"]] == ["local folder", "S3 (moto, loopback)"]
    assert all(h["hits"] > 0 for h in result["cache_hit_latency"])


def test_the_lambda_package_imports_and_summarizes_alone(student_dir, tmp_path):
    result = _run("infra/package_lambda.py", "--bundle", str(student_dir), "--out", str(tmp_path / "pkg"))
    assert result["fits"] and result["smoke"] == {"tokens": 4, "torch": False, "transformers": False}
    assert result["bytecode"] and result["bytecode_mb"] > 0  # shipped: /var/task is read-only on Lambda
    assert list((tmp_path / "pkg" / "functions" / "__pycache__").glob("app.cpython-*.pyc"))
    assert {"import_s_from_source", "import_s_compiled"} <= result.keys()  # the figures, measured (speed: bench)
    assert (tmp_path / "pkg" / "functions" / "handlers" / "router.py").exists()
    bare = _run("infra/package_lambda.py", "--no-bundle", "--out", str(tmp_path / "bare"))
    assert bare["smoke"] == {} and not (tmp_path / "bare" / "bundle").exists()
