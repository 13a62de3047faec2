"""Input that used to escape the parser: every malformed record ends as its own 4xx-class failure."""

from __future__ import annotations

import json

import boto3

from functions.handlers import router
from functions.local_invoke import LocalContext, eventbridge_event, sqs_event
from tests.factories import http_event, news_item, s3_event

DEEP = "[" * 5000 + "]" * 5000  # 10 KB that blew Python's recursion limit in json.loads
HUGE = '{"id": "n", "body": "x", "count": ' + "9" * 5000 + "}"  # past the 4,300-digit int limit
INVISIBLE = json.dumps({"id": "zw", "body": "\u200b\u200c\u200d\u2060\ufeff"})


def _letters(app) -> list[dict]:
    folder = app.settings.dead_letter_dir
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.exists() else []


def test_one_bad_sqs_record_fails_alone_and_the_valid_one_is_summarized(make_app):
    app = make_app()
    event = sqs_event([json.dumps(news_item()), DEEP, HUGE, INVISIBLE, "x"])
    event["Records"][4]["body"] = None  # a record whose body is not text at all
    result = router.handler(event, LocalContext())
    ids = [r["messageId"] for r in event["Records"]]
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == set(ids[1:])
    (note,) = map(json.loads, app.settings.outbox_path.read_text().splitlines())
    assert note["id"] == news_item()["id"]


def test_the_api_answers_400_or_422_for_input_that_used_to_raise(make_app):
    make_app()
    for body, status in ((DEEP, 400), (HUGE, 400), (INVISIBLE, 422)):
        resp = router.handler(http_event(body), LocalContext())
        assert resp["statusCode"] == status, body[:40]
        assert json.loads(resp["body"])["error"]


def test_an_eventbridge_detail_sent_as_a_json_string_is_read_or_dead_lettered(make_app):
    app = make_app()
    out = router.handler(eventbridge_event(json.dumps(news_item())), LocalContext())
    assert out["items"][0]["status"] == "summarized"
    out = router.handler(eventbridge_event(DEEP), LocalContext())
    assert out["items"][0]["status"] == "dead-lettered" and "nested too deeply" in _letters(app)[0]["reason"]


def test_an_empty_s3_object_is_dead_lettered_not_retried(make_app, aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="empty-ingest")
    s3.put_object(Bucket="empty-ingest", Key="news/empty.json", Body=b"")
    app = make_app()
    out = router.handler(s3_event("empty-ingest", "news/empty.json", size=0), LocalContext())
    assert out["items"][0]["status"] == "dead-lettered"
    assert "malformed JSON" in _letters(app)[0]["reason"]


def test_sqs_records_of_shapes_aws_never_sends_fail_alone(make_app):
    app = make_app()
    event = sqs_event([json.dumps(news_item())])
    event["Records"] += ["not an object", {"body": json.dumps(news_item(id="no-message-id"))}]
    result = router.handler(event, LocalContext())
    assert result["batchItemFailures"] == []  # nothing addressable failed; the valid record was summarized
    (note,) = map(json.loads, app.settings.outbox_path.read_text().splitlines())
    assert note["id"] == news_item()["id"]
    assert [letter["source"] for letter in _letters(app)] == ["sqs", "sqs"]


def test_an_s3_record_without_its_object_is_dead_lettered_alone(make_app, tmp_path):
    from tests.factories import s3_event

    (tmp_path / "ingest" / "news").mkdir(parents=True)
    (tmp_path / "ingest" / "news" / "ok.json").write_text(json.dumps(news_item()))
    app = make_app(ingest_dir=tmp_path / "ingest")
    event = s3_event("news", "ok.json")
    broken = json.loads(json.dumps(event["Records"][0]))
    del broken["s3"]["object"]
    event["Records"].append(broken)
    out = router.handler(event, LocalContext())
    assert sorted(i["status"] for i in out["items"]) == ["dead-lettered", "summarized"]
    assert "not an S3 event record" in _letters(app)[0]["reason"]
