"""The benchmarks and the Lambda packager run end to end on the tiny bundle (figures aside)."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

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
    split = {r["mode"]: r for r in result["model_only"]}  # the model's own time for the same misses
    assert split["one by one"]["x_one_by_one"] == 1.0 and split["batched"]["articles"] == 14
    assert all(r["prefill_s"] > 0 and r["decode_s"] > 0 for r in split.values())


def test_the_cold_start_bench_times_the_entry_point_and_breaks_the_runtime_down(student_dir):
    result = _run("bench/cold_start.py", "--runs", "1", "--bundle", str(student_dir), "--student-hf", "/nonexistent")
    paths = [r["path"] for r in result["rows"]]
    assert paths == ["entry point (router.handler, API event)", "runtime only (load + 1 token)"]  # no torch folder
    entry = result["rows"][0]
    assert 0 < entry["first_token_s"] <= entry["summary_s"] and entry["x_entry_point"] == 1.0
    parts = {p["part"]: p["median_s"] for p in result["breakdown"]}
    assert set(parts) == {"interpreter", "entry_point_init", "runtime_imports", "session", "tokenizer",
                          "grounding_setup", "prefill"} and all(v > 0 for v in parts.values())  # fmt: skip


def test_the_lambda_package_imports_and_summarizes_alone(student_dir, tmp_path):
    result = _run("infra/package_lambda.py", "--bundle", str(student_dir), "--out", str(tmp_path / "pkg"))
    assert result["fits"] and result["smoke"] == {"tokens": 4, "torch": False, "transformers": False}
    assert result["bytecode"] and result["bytecode_mb"] > 0  # shipped: /var/task is read-only on Lambda
    assert list((tmp_path / "pkg" / "functions" / "__pycache__").glob("app.cpython-*.pyc"))
    assert {"import_s_from_source", "import_s_compiled"} <= result.keys()  # the figures, measured (speed: bench)
    assert (tmp_path / "pkg" / "functions" / "handlers" / "router.py").exists()
    # the package's CLI: no installed metadata, no model_export or ops; its own commands still run
    pkg = tmp_path / "pkg"
    env = {"PYTHONPATH": f"{pkg}:{pkg}-runtime-provided", "PATH": "/usr/bin", "NEWSBURST_CACHE_DIR": str(tmp_path)}
    cli = [sys.executable, "-S", "-m", "functions.cli"]
    helped = subprocess.run([*cli, "--help"], env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    commands = set(re.findall(r"^    ([a-z-]+)", helped.stdout, re.M))
    assert {"invoke", "summarize", "demo", "desk"} <= commands and not commands & {"export", "eval", "warmpool"}
    event = str(ROOT / "events" / "warmer-schedule.json")
    invoked = subprocess.run([*cli, "invoke", event, "--bundle", str(pkg / "bundle")], env=env, cwd=tmp_path,
                             capture_output=True, text=True)  # fmt: skip
    assert invoked.returncode == 0, invoked.stderr[-800:]
    assert json.loads(invoked.stdout)["warm"] is True
    bare = _run("infra/package_lambda.py", "--no-bundle", "--out", str(tmp_path / "bare"))
    assert bare["smoke"] == {} and not (tmp_path / "bare" / "bundle").exists()
    assert (tmp_path / "release_id").read_text().strip() == bare["release_id"] != result["release_id"]


SNAPSTART_INIT = """
import json, sys
import functions.handlers.router as router  # Lambda's INIT: NEWSBURST_PRELOAD fetches and loads the bundle
from functions.local_invoke import LocalContext, eventbridge_event
from functions.runtime import snapstart
generation = snapstart.before_snapshot(lambda: router.app().engine()[0])  # what SnapStart runs before the snapshot
snapstart.after_restore()
out = router.handler(eventbridge_event(json.load(open(sys.argv[1]))), LocalContext())
print(json.dumps({"warm_tokens": generation.prompt_tokens, "status": out["items"][0]["status"],
                  "bundle": str(router.app().bundle_dir)}))
"""


def test_a_package_without_a_bundle_fetches_it_from_s3_at_init_and_serves_after_restore(student_dir, aws, tmp_path):
    """The deployed shape of BundleUri + SnapStart: the package alone on sys.path, the bundle in S3."""
    import boto3

    from functions.runtime.bundle import read_manifest
    from model_export.bundle_writer import publish

    _run("infra/package_lambda.py", "--no-bundle", "--out", str(tmp_path / "pkg"))
    boto3.client("s3").create_bucket(Bucket="deploy-models")
    uri = publish(student_dir, read_manifest(student_dir), "s3://deploy-models/newsburst")
    env = {
        **aws,
        "PYTHONPATH": f"{tmp_path / 'pkg'}:{tmp_path / 'pkg-runtime-provided'}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NEWSBURST_BUNDLE_URI": uri,
        "NEWSBURST_BUNDLE_DIR": str(tmp_path / "not-there"),
        "NEWSBURST_BUNDLE_CACHE_DIR": str(tmp_path / "tmp-bundles"),
        "NEWSBURST_PRELOAD": "true",
        "NEWSBURST_CACHE_DIR": str(tmp_path / "cache"),
        "NEWSBURST_OUTBOX_PATH": str(tmp_path / "outbox.jsonl"),
        "NEWSBURST_DESK_DIR": str(tmp_path / "desk"),
        "NEWSBURST_STORIES_DIR": str(tmp_path / "stories"),
        "NEWSBURST_DEAD_LETTER_DIR": str(tmp_path / "dlq"),
    }
    item = ROOT / "events" / "news" / "lee-170.json"
    out = subprocess.run([sys.executable, "-S", "-c", SNAPSTART_INIT, str(item)], env=env, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["warm_tokens"] > 20 and result["status"] == "summarized"
    assert result["bundle"] == str(tmp_path / "tmp-bundles" / read_manifest(student_dir).version)


def _bench_module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_prefill_bench_twin_computes_every_position_and_agrees_on_the_last(student_dir, tmp_path):
    from functions.runtime.bundle import MODEL, read_manifest
    from functions.runtime.kv_generate import KVCacheDecoder
    from functions.runtime.model import open_session

    graphs = _bench_module("prefill").twins(student_dir, tmp_path)
    manifest = read_manifest(student_dir)
    ids = np.arange(100, 140, dtype=np.int64)[None]
    logits = {}
    for head, folder in graphs.items():
        decoder = KVCacheDecoder(open_session(folder / MODEL), manifest.num_kv_heads, manifest.head_dim)
        logits[head] = decoder.step(ids, ids.shape[1], decoder.empty_cache())[0]
    assert logits["last position"].shape[1] == 1 and logits["every position"].shape[1] == ids.shape[1]
    assert np.allclose(logits["every position"][:, -1], logits["last position"][:, -1], rtol=0, atol=1e-4)


def test_the_prefill_bench_times_both_heads_at_both_lengths(student_dir):
    result = _run("bench/prefill.py", "--runs", "1", "--bundle", str(student_dir))
    cases = [(r["prompt_tokens"], r["lm_head"]) for r in result["rows"]]
    assert cases == [(n, head) for n in (512, 1024) for head in ("last position", "every position")]
    assert all(r["prefill_tok_s"] > 0 and r["peak_rss_mb"] > 0 for r in result["rows"])
    assert all(r["x_every_position"] == 1.0 for r in result["rows"] if r["lm_head"] == "every position")


def test_the_speed_goals_table_holds_each_measurement_against_its_target():
    results = {
        "cold_start": {
            "rows": [
                {"path": "entry point (router.handler, API event)", "first_token_s": 0.6},
                {"path": "torch + transformers (1 token)", "first_token_s": 6.6},
            ]
        },
        "prefill": {
            "rows": [
                {"prompt_tokens": n, "lm_head": "last position", "x_every_position": x, "rss_vs_every_position": 0.7}
                for n, x in ((512, 1.5), (1024, 1.3))
            ]
        },
        "decode": {
            "sweep_checks": {
                "decode_1024_over_256": 0.85,
                "decode_1024_shared_over_copied": 1.4,
                "batched_equals_one_by_one": True,
            }
        },
        "burst": {"modes": [{"x_one_by_one": 1.49}]},
        "gpu_endpoint": {"provider": "CPUExecutionProvider", "rows": [{"tokens_per_s": 30, "concurrency": 4}]},
    }
    met = [r["met"] for r in _bench_module("speed_goals").goal_rows(results)]
    assert met == ["no", "yes", "yes", "no", "yes", "yes", "no", "no GPU here: CPU rows"]


def test_the_story_burst_bench_compares_reuse_with_the_exact_cache_and_finds_both_zeros(student_dir):
    result = _run("bench/stories.py", "--stories", "1", "--compress", "20", "--bundle", str(student_dir), timeout=400)
    off, on = result["modes"]
    assert (off["mode"], on["mode"]) == ("exact cache only", "story reuse")
    assert off["items"] == on["items"] == 9 and off["failed"] == on["failed"] == 0
    assert off["story_hit_pct"] == 0 and off["exact_hit_pct"] > 0  # the repeated delivery
    assert on["stale_facts"] == 0 and on["false_merges"] == 0 and off["false_merges"] == 0
    assert on["model_runs"] <= off["model_runs"] and "model_s_saved" in on


def test_the_chaos_bench_loses_nothing_when_containers_die_and_the_endpoint_lies(student_dir, tiny_export):
    """A small run: containers killed mid-invocation and a garbage endpoint, beside the baseline;
    every item is delivered or dead-lettered, and every invocation ends inside its timeout."""
    result = _run(
        "bench/chaos.py", "--items", "5", "--seconds", "3", "--faults", "container-kill,endpoint-garbage",
        "--bundle", str(student_dir), "--endpoint-bundle", str(tiny_export[0] / "teacher"),
        "--timeout", "20", "--receives", "4", "--kill-every", "1", timeout=400,
    )  # fmt: skip
    rows = {r["fault"]: r for r in result["rows"]}
    assert list(rows) == ["none", "container-kill", "endpoint-garbage"] and result["ok"]
    for row in rows.values():
        assert row["lost"] == 0 and row["delivered"] + row["dead_letters"] == row["items"] == 5
        assert row["inside_timeout"] and row["longest_s"] <= 20
    assert rows["none"]["retried"] == 0 and rows["none"]["delivered"] == 5


def test_the_paired_decode_bench_times_every_bundle_on_the_same_articles(tiny_export):
    from tests.conftest import REFERENCE_ROWS

    out = tiny_export[0]
    argv = ["--bundle", str(out / "teacher"), "--bundle", str(out / "student"), "--data", str(REFERENCE_ROWS)]
    result = _run("bench/paired_decode.py", *argv, "--articles", "2")
    assert [(r["bundle"], r["format"]) for r in result["rows"]] == [
        (str(out / "teacher"), "highlights"),
        (str(out / "student"), "highlights"),
    ]
    teacher, student = result["rows"]
    assert teacher["x_first"] == 1.0 and teacher["output_vocab"] == 49152
    assert student["output_vocab"] < 49152  # the tiny profile's short head
    assert all(r["decode_tok_s"] > 0 and r["ms_per_item"] > 0 for r in result["rows"])


def test_the_decoding_recipes_bench_judges_every_recipe_on_the_same_articles(student_dir):
    """Each recipe's summaries judged by the runtime's check; the served greedy row never delivers
    more unsupported sentences than the same decoding without the drop."""
    data = ROOT / "model_export/data/lee_heldout_refs.jsonl"
    result = _run("bench/faithful_decoding.py", "--bundle", str(student_dir), "--data", str(data), "--articles", "2")
    rows = {r["recipe"]: r for r in result["rows"]}
    assert set(rows) == {"greedy, as generated", "greedy", "best of 3", "contrastive"}
    assert all(0 <= r["unsupported_sentences_pct"] <= 100 and r["ms_per_item"] > 0 for r in rows.values())
    assert rows["greedy"]["unsupported_sentences_pct"] <= rows["greedy, as generated"]["unsupported_sentences_pct"]
