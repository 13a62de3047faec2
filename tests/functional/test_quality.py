"""Eval routing, the student gate and the cascade, on the tiny bundles the real export wrote."""

from __future__ import annotations

import json

import pytest

from functions.cli import main
from functions.command_settings import servable_or_teacher
from functions.config import Settings
from functions.handlers import router
from functions.local_invoke import LocalContext, sqs_event
from functions.runtime.bundle import BundleError, read_manifest
from model_export.bundle_writer import record_metrics
from tests.conftest import ROOT
from tests.factories import long_item, news_item


def _data(path, items: list[dict]):
    rows = [{"id": i["id"], "article": i["body"], "reference": i["title"]} for i in items]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_eval_routes_over_budget_articles_to_the_teacher_per_data_set(tiny_export, tmp_path, capsys):
    out = tiny_export[0]
    short = _data(tmp_path / "short.jsonl", [news_item()])
    mixed = _data(tmp_path / "mixed.jsonl", [news_item(), long_item()])
    assert main(["eval", str(out / "student"), "--data", str(short), "--data", str(mixed), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    blocks = result["datasets"]
    assert list(blocks) == [str(short), str(mixed)]
    student = blocks[str(mixed)]["systems"]["student"]["spans"]
    teacher = blocks[str(mixed)]["systems"]["teacher"]["spans"]
    assert student["escalated_pct"] == 50.0 and teacher["escalated_pct"] == 0.0  # the long one went to the teacher
    assert blocks[str(short)]["systems"]["student"]["spans"]["escalated_pct"] == 0.0
    for row in (student, teacher):
        assert row["teacher_nll"] > 0 and 0 <= row["loop_or_cut_pct"] <= 100
    assert student["rougeLsum_x_teacher"] == round(student["rougeLsum"] / teacher["rougeLsum"], 2)
    # speed: both models on the same (local) article in this run, even when the teacher's text is cached
    paired = student["paired_decode_tok_s"] / teacher["paired_decode_tok_s"]  # both rounded to 0.1 tok/s
    assert student["decode_x_teacher"] == pytest.approx(paired, abs=0.01)
    assert "lead3" in blocks[str(mixed)]["systems"]


def test_eval_names_a_missing_data_file(tiny_export, tmp_path, capsys):
    assert main(["eval", str(tiny_export[0] / "student"), "--data", str(tmp_path / "nope.jsonl")]) == 2
    assert "nope.jsonl: no such file" in capsys.readouterr().err


def test_the_export_records_its_gate_verdict(tiny_export):
    m = read_manifest(tiny_export[0] / "student")
    assert m.servable is True  # tiny's floor is 0: the tests serve it
    assert m.metrics["servable_articles"] >= 1 and m.metrics["servable_teacher_rouge_lsum"] > 0
    assert read_manifest(tiny_export[0] / "teacher").servable is None


def test_the_functions_refuse_a_student_that_failed_its_gate(student_bundle_copy, make_app):
    record_metrics(student_bundle_copy, {"servable_ratio": 0.5}, servable=False)
    app = make_app(bundle_dir=student_bundle_copy)
    with pytest.raises(BundleError, match=r"failed the export's quality gate.*NEWSBURST_ALLOW_UNGATED"):
        app.fingerprint  # noqa: B018
    with pytest.raises(BundleError, match="quality gate"):
        app.engine()
    allowed = make_app(bundle_dir=student_bundle_copy, allow_ungated=True)
    assert allowed.engine()[0].model.manifest.servable is False


def test_the_demo_serves_the_teacher_when_the_student_is_not_servable(student_bundle_copy, tiny_export, capsys):
    teacher = student_bundle_copy.parent / "teacher"
    teacher.symlink_to(tiny_export[0] / "teacher")
    record_metrics(student_bundle_copy, {}, servable=False)
    chosen = servable_or_teacher(Settings(bundle_dir=student_bundle_copy), explicit=False)
    assert chosen.bundle_dir == teacher and "serves the teacher bundle" in capsys.readouterr().err
    assert servable_or_teacher(Settings(bundle_dir=student_bundle_copy), explicit=True).bundle_dir != teacher


def _notes(app) -> dict:
    return {n["id"]: n for n in map(json.loads, app.settings.outbox_path.read_text().splitlines())}


def test_the_cascade_sends_low_confidence_summaries_to_the_teacher(
    student_bundle_copy, make_app, start_endpoint, tiny_export, monkeypatch
):
    from functions.runtime import summarize
    from functions.runtime.guard import GuardReport

    record_metrics(student_bundle_copy, {}, confidence_threshold=0.0)  # every summary is below it
    # the tiny model's summaries fail the faithfulness check (they are word salad): passed here, so
    # that confidence alone decides
    monkeypatch.setattr(summarize, "judge", lambda *args, **kwargs: GuardReport())
    teacher_version = read_manifest(tiny_export[0] / "teacher").version
    with start_endpoint(tiny_export[0] / "teacher", secret="s3cret") as url:
        app = make_app(
            bundle_dir=student_bundle_copy, endpoint_url=url, endpoint_secret="s3cret", flagged_policy="escalate"
        )
        result = router.handler(sqs_event([json.dumps(news_item())]), LocalContext())
        deliver = make_app(bundle_dir=student_bundle_copy, endpoint_url=url, endpoint_secret="s3cret")
        router.handler(sqs_event([json.dumps(news_item(id="same-under-deliver"))]), LocalContext())
    assert result["batchItemFailures"] == []
    note = _notes(app)[news_item()["id"]]
    assert note["route"] == "escalate" and note["escalation_reason"] == "low_confidence"
    assert note["model_version"] == teacher_version and note["summary"]
    assert _notes(deliver)["same-under-deliver"]["route"] == "local"  # the deliver policy keeps the student's


def test_a_cascaded_item_keeps_the_students_summary_when_the_teacher_is_down(student_bundle_copy, make_app):
    from tests.stand_ins import misbehaving

    record_metrics(student_bundle_copy, {}, confidence_threshold=0.0)
    with misbehaving(500) as (url, calls):
        app = make_app(
            bundle_dir=student_bundle_copy,
            endpoint_url=url,
            endpoint_attempts=2,
            endpoint_backoff_s=0.01,
            flagged_policy="escalate",
        )
        result = router.handler(sqs_event([json.dumps(news_item())]), LocalContext())
    assert result["batchItemFailures"] == [] and len(calls) == 2
    note = _notes(app)[news_item()["id"]]
    assert note["route"] == "local" and not note["fallback"] and note["model_version"] != "lead-3"


def test_the_demo_prints_summaries_only_and_its_logs_go_to_a_file(tiny_export, tmp_path):
    import os
    import subprocess
    import sys

    env = os.environ | {
        f"NEWSBURST_{n.upper()}": str(tmp_path / n) for n in ("cache_dir", "dead_letter_dir", "handoff_dir")
    }
    env["NEWSBURST_OUTBOX_PATH"] = str(tmp_path / "outbox.jsonl")
    env["NEWSBURST_DESK_DIR"] = str(tmp_path / "desk")
    env["NEWSBURST_STORIES_DIR"] = str(tmp_path / "stories")
    log = tmp_path / "demo.log"
    cmd = [sys.executable, "-c", "from functions.cli import main; raise SystemExit(main())", "demo"]
    cmd += [
        str(ROOT / "events" / "sqs-batch.json"),
        "--bundle",
        str(tiny_export[0] / "student"),
        "--log-file",
        str(log),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "== " in proc.stdout and str(log) in proc.stdout
    # no JSON log lines and no EMF blobs between the summaries; they are in the file
    assert '"level"' not in proc.stdout + proc.stderr and '"_aws"' not in proc.stdout
    assert '"_aws"' in log.read_text() and '"level"' in log.read_text()
