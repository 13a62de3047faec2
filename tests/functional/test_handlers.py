"""Every trigger through the deployed entry point, with the embedded local defaults."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from functions.handlers import router
from functions.local_invoke import LocalContext, eventbridge_event, sqs_event
from functions.runtime import loaded_models
from tests.conftest import ROOT
from tests.factories import http_event, long_item, news_item, s3_event


def _outbox(app) -> list[dict]:
    path = app.settings.outbox_path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _dead_letters(app) -> list[dict]:
    folder = app.settings.dead_letter_dir
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.exists() else []


def test_a_mixed_sqs_batch_accounts_for_every_item(make_app):
    app = make_app()
    good = [news_item("lee-020"), news_item("lee-290"), news_item("lee-170")]
    dup = news_item("lee-020", id="wire-copy")
    bodies = [json.dumps(i) for i in [*good, dup]] + [
        json.dumps({"id": "empty", "body": "  "}),
        '{"id": "cut", "body": "The minister',
        json.dumps({"title": "no id or body"}),
    ]
    event = sqs_event(bodies)
    result = router.handler(event, LocalContext())
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    ids = [r["messageId"] for r in event["Records"]]
    assert failed == set(ids[4:])  # the three bad records go back to the queue (then the DLQ)
    notes = {n["id"]: n for n in _outbox(app)}
    assert set(notes) == {"abc-lee-020", "abc-lee-290", "abc-lee-170", "wire-copy"}
    assert notes["wire-copy"]["summary"] == notes["abc-lee-020"]["summary"] and notes["wire-copy"]["cache_hit"]
    assert all(n["summary"] or n["fallback"] for n in notes.values())


def test_valid_sqs_items_are_generated_in_one_batch(make_app, monkeypatch):
    app = make_app()
    from functions.runtime.kv_generate import KVCacheDecoder

    batches = []
    real = KVCacheDecoder.generate_batch
    monkeypatch.setattr(
        KVCacheDecoder, "generate_batch", lambda self, p, *a, **k: batches.append(len(p)) or real(self, p, *a, **k)
    )
    items = [news_item(n) for n in ("lee-020", "lee-290", "lee-170")]
    router.handler(sqs_event([json.dumps(i) for i in items]), LocalContext())
    assert batches == [3]
    unbatched = make_app(batch=False, cache_dir=app.settings.cache_dir.parent / "cache2", stories=False)
    router.handler(sqs_event([json.dumps(i) for i in items]), LocalContext())
    assert batches == [3, 1, 1, 1] and unbatched.settings.batch is False


def test_a_repeat_is_a_cache_hit_that_never_touches_the_model(make_app, monkeypatch):
    app = make_app()
    first = router.handler(eventbridge_event(news_item()), LocalContext())["items"][0]["result"]
    monkeypatch.setattr(app, "engine", lambda: (_ for _ in ()).throw(AssertionError("model used on a hit")))
    again = router.handler(eventbridge_event(news_item(id="repeat")), LocalContext())["items"][0]["result"]
    assert not first["cache_hit"] and again["cache_hit"] and again["summary"] == first["summary"]
    assert again["id"] == "repeat"


def test_s3_upload_is_read_summarized_and_notified(make_app, tmp_path):
    (tmp_path / "ingest" / "news").mkdir(parents=True)
    (tmp_path / "ingest" / "news" / "item one.json").write_text(json.dumps(news_item()))
    (tmp_path / "ingest" / "news" / "bad.json").write_bytes(b"\xff\xfe")
    app = make_app(ingest_dir=tmp_path / "ingest")
    out = router.handler(s3_event("news", "item+one.json"), LocalContext())
    assert out["items"][0]["status"] == "summarized" and _outbox(app)[0]["id"] == news_item()["id"]
    out = router.handler(s3_event("news", "bad.json"), LocalContext())
    assert out["items"][0]["status"] == "dead-lettered"
    out = router.handler(s3_event("news", "missing.json"), LocalContext())
    letters = _dead_letters(app)
    assert [letter["source"] for letter in letters] == ["s3", "s3"] and "not UTF-8" in letters[0]["reason"]
    assert "not found" in letters[1]["reason"] and out["items"][0]["status"] == "dead-lettered"


def test_eventbridge_bad_detail_is_dead_lettered_with_its_payload(make_app):
    app = make_app()
    out = router.handler(eventbridge_event({"id": "no-body"}), LocalContext())
    assert out["items"][0]["status"] == "dead-lettered"
    (letter,) = _dead_letters(app)
    assert letter["item_id"] == "no-body" and json.loads(letter["payload"])["detail"] == {"id": "no-body"}


def test_http_api_answers_the_summary_or_a_status_with_a_reason(make_app):
    make_app()
    ok = router.handler(http_event(json.dumps(news_item())), LocalContext())
    assert ok["statusCode"] == 200 and json.loads(ok["body"])["model_version"]
    cases = {
        400: http_event('{"id": "x", "body": "cut'),
        413: http_event(json.dumps(news_item(body="word " * 13_000))),
        422: http_event(json.dumps({"id": "x", "body": " "})),
    }
    for status, event in cases.items():
        resp = router.handler(event, LocalContext())
        assert resp["statusCode"] == status and json.loads(resp["body"])["error"]
    resp = router.handler(http_event(b"\xff\xfe{}"), LocalContext())
    assert resp["statusCode"] == 400 and "UTF-8" in json.loads(resp["body"])["error"]
    assert router.handler(http_event("{}", path="/nope"), LocalContext())["statusCode"] == 404


def test_over_budget_without_an_endpoint_falls_back_or_fails_per_policy(make_app):
    make_app()
    (r,) = router.handler(eventbridge_event(long_item()), LocalContext())["items"]
    assert r["result"]["fallback"] and r["result"]["escalated"]
    assert r["result"]["summary"].startswith(long_item()["body"][:60])
    app = make_app(when_no_model="fail")
    # no endpoint is configured: a retry cannot fix that, so the item is dead-lettered at once
    (r,) = router.handler(eventbridge_event(long_item(id="strict")), LocalContext())["items"]
    assert r["status"] == "dead-lettered" and "no GPU endpoint" in r["reason"]
    assert [letter["item_id"] for letter in _dead_letters(app)] == ["strict"]


def test_warmer_loads_once_and_then_answers_warm(make_app):
    loaded_models.clear()
    make_app()
    event = json.loads((ROOT / "events" / "warmer-schedule.json").read_text())
    first = router.handler(event, LocalContext())
    second = router.handler(event, LocalContext())
    assert first["warm"] and first["cold"] and first["load_seconds"] > 0
    assert second["warm"] and not second["cold"]


def test_unknown_event_shapes_are_refused_clearly():
    import pytest

    for event in ({"hello": "world"}, [1], {"Records": [{"eventSource": "aws:kinesis"}]}):
        with pytest.raises(router.UnknownEvent, match="event"):
            router.handler_for(event)


def test_logs_and_metrics_carry_ids_but_never_article_text_or_secrets(make_app, capsys):
    make_app(endpoint_url="http://127.0.0.1:9", endpoint_secret="s3cr3t-token", endpoint_attempts=1)
    items = [news_item(), long_item()]
    router.handler(sqs_event([json.dumps(i) for i in items]), LocalContext())
    router.handler(http_event(json.dumps(news_item("lee-290"))), LocalContext())
    out = capsys.readouterr()
    logs = out.out + out.err
    assert '"item_id":"abc-lee-170"' in logs.replace(" ", "") and "summary ready" in logs
    assert '"CacheMiss"' in logs and '"TokensIn"' in logs and '"Escalated"' in logs  # EMF metrics
    for item in [*items, news_item("lee-290")]:
        for sentence in item["body"].split(". ")[:3]:
            assert sentence[:40] not in logs
    assert "s3cr3t-token" not in logs


def test_preload_loads_the_model_at_import_in_the_init_phase(student_dir, tmp_path):
    code = (
        "import time; t = time.perf_counter(); import functions.handlers.router as r;"
        "from functions.runtime import loaded_models; print(len(loaded_models.loaded_versions()))"
    )
    env = {"NEWSBURST_BUNDLE_DIR": str(student_dir), "NEWSBURST_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin"}
    got = [
        subprocess.run([sys.executable, "-c", code], env={**env, **extra}, capture_output=True, text=True, cwd=ROOT)
        for extra in ({"NEWSBURST_PRELOAD": "1"}, {})
    ]
    assert [g.stdout.strip() for g in got] == ["1", "0"], got[0].stderr[-500:]


def test_invoke_cli_prints_only_the_return_value_on_stdout(student_dir, tmp_path):
    env = {
        "PATH": "/usr/bin",
        "NEWSBURST_CACHE_DIR": str(tmp_path / "c"),
        "NEWSBURST_OUTBOX_PATH": str(tmp_path / "o.jsonl"),
        "NEWSBURST_DESK_DIR": str(tmp_path / "d"),
        "NEWSBURST_STORIES_DIR": str(tmp_path / "stories"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "functions.cli", "invoke", "events/warmer-schedule.json", "--bundle", str(student_dir)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-800:]
    assert json.loads(proc.stdout)["warm"] is True


def test_grounding_is_per_request_and_part_of_the_cache_key(make_app):
    app = make_app(grounding="spans")
    router.handler(eventbridge_event(news_item()), LocalContext())
    again = router.handler(eventbridge_event(news_item(id="ungrounded", grounding="off")), LocalContext())
    result = again["items"][0]["result"]
    assert not result["cache_hit"] and result["faithfulness"]["grounding"] == "off"
    assert len(list(app.settings.cache_dir.glob("*.json"))) == 2


def test_a_flagged_summary_can_be_replaced_by_lead_sentences(make_app, monkeypatch):
    from functions.runtime import summarize
    from functions.runtime.guard import GuardReport

    monkeypatch.setattr(summarize, "judge", lambda *args, **kwargs: GuardReport(unsupported_claims=["Keating"]))
    make_app(flagged_policy="deliver")
    kept = router.handler(eventbridge_event(news_item()), LocalContext())["items"][0]["result"]
    assert kept["faithfulness"]["flagged"] and not kept["fallback"]
    app = make_app(flagged_policy="lead")
    for path in app.settings.cache_dir.glob("*.json"):
        path.unlink()  # the delivered summary above is cached; ask the model again
    replaced = router.handler(eventbridge_event(news_item()), LocalContext())["items"][0]["result"]
    assert replaced["fallback"] and replaced["summary"].startswith(news_item()["body"][:40])


def test_one_retryable_record_is_retried_alone_and_the_event_succeeds(make_app, tmp_path):
    """An S3 event of a short and a long article while the GPU endpoint is down (fail policy): the
    short one is delivered once; the long one goes to the items queue for its own retries, and the
    invocation is no Lambda error (no re-run of the good record, no error alarm)."""
    from functions.parsing import parse_item
    from tests.stand_ins import misbehaving

    (tmp_path / "ingest" / "news").mkdir(parents=True)
    (tmp_path / "ingest" / "news" / "short.json").write_text(json.dumps(news_item()))
    (tmp_path / "ingest" / "news" / "long.json").write_text(json.dumps(long_item()))
    event = s3_event("news", "short.json")
    event["Records"].append(s3_event("news", "long.json")["Records"][0])
    with misbehaving(500) as (url, _):
        app = make_app(ingest_dir=tmp_path / "ingest", endpoint_url=url, endpoint_attempts=1, when_no_model="fail")
        out = router.handler(event, LocalContext())
        assert [i["status"] for i in out["items"]] == ["summarized", "queued for retry"]
        assert [n["id"] for n in _outbox(app)] == [news_item()["id"]]
        (queued,) = app.settings.handoff_dir.glob("*.json")
        assert parse_item(queued.read_bytes()).id == long_item()["id"]
        retried = router.handler(sqs_event([queued.read_text()]), LocalContext())  # still down: back to SQS alone
    assert len(retried["batchItemFailures"]) == 1
    assert [n["id"] for n in _outbox(app)] == [news_item()["id"]] and not _dead_letters(app)


def test_when_the_items_queue_is_down_too_the_event_is_retried_whole(make_app, tmp_path):
    from functions.handlers.settle import RetryLater
    from tests.stand_ins import misbehaving

    (tmp_path / "not-a-folder").write_text("")
    with misbehaving(500) as (url, _):
        make_app(endpoint_url=url, endpoint_attempts=1, when_no_model="fail", handoff_dir=tmp_path / "not-a-folder")
        with pytest.raises(RetryLater, match="GPU endpoint unavailable"):
            router.handler(eventbridge_event(long_item()), LocalContext())


def test_a_dead_letter_of_a_non_ascii_article_fits_an_sqs_message():
    from functions.dead_letter import SQS_MAX_BYTES, DeadLetter

    event = json.dumps({"detail": {"id": "ru", "body": "Пожар в Сиднее. " * 12_000}}, ensure_ascii=False)
    letter = json.loads(DeadLetter("eventbridge", "body too long", "ru", event).to_json())
    assert len(json.dumps(letter, ensure_ascii=False).encode()) <= SQS_MAX_BYTES
    assert letter["payload_truncated"] and letter["payload"].startswith('{"detail"')
    small = json.loads(DeadLetter("eventbridge", "bad", "ru", '{"body": "Пожар"}').to_json())
    assert small["payload"] == '{"body": "Пожар"}' and "payload_truncated" not in small
