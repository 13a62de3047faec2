"""The AWS parts over real HTTP against moto's server: S3 cache and ingest, SNS, SQS DLQ."""

from __future__ import annotations

import json
import threading
import time
import uuid

import boto3
import pytest
import time_machine

from functions.cache.s3 import S3Cache
from functions.handlers import router
from functions.local_invoke import LocalContext, eventbridge_event, sqs_event
from tests.concurrency import run_concurrently
from tests.factories import news_item, s3_event


@pytest.fixture()
def bucket(aws) -> str:
    name = f"cache-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def test_s3_claims_are_exclusive_and_expire(bucket):
    cache = S3Cache(boto3.client("s3"), bucket, "summaries/")
    wins = run_concurrently(6, lambda _: cache.claim("k", ttl_s=30))
    assert wins.count(True) == 1 and cache.pending("k")
    with time_machine.travel(time.time()) as clock:
        assert cache.claim("dead", ttl_s=0.3)
        clock.shift(0.5)
        assert cache.claim("dead", ttl_s=60) and not cache.claim("dead", ttl_s=60)  # a dead claimant's marker expired
    cache.put("k", {"summary": "s", "model_version": "v"})
    assert cache.get("k") == {"summary": "s", "model_version": "v"} and not cache.pending("k")


def test_identical_items_in_a_burst_run_the_model_once(make_app, bucket, monkeypatch):
    # a generous cache bound: under a loaded machine a slow call would turn off dedup, not test it
    app = make_app(cache_bucket=bucket, claim_wait_s=30, cache_timeout_s=30)
    calls, waiting = [], threading.Semaphore(0)
    real, real_wait = app.engine, S3Cache.wait

    def counted_wait(self, *args, **kwargs):
        waiting.release()
        return real_wait(self, *args, **kwargs)

    def counting_engine():
        calls.append(1)
        for _ in range(4):  # hold the claim until the four copies wait on it
            assert waiting.acquire(timeout=30)
        return real()

    monkeypatch.setattr(S3Cache, "wait", counted_wait)
    monkeypatch.setattr(app, "engine", counting_engine)

    def invoke(i):
        from functions.schemas import NewsItem

        return app.pipeline.run([NewsItem.model_validate(news_item(id=f"copy-{i}"))])[0]

    results = run_concurrently(5, invoke)
    assert len(calls) == 1
    assert sum(not r.cache_hit for r in results) == 1 and len({r.summary for r in results}) == 1
    assert [r.id for r in results] == [f"copy-{i}" for i in range(5)]
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="summaries/")["Contents"]]
    assert len(keys) == 1 and keys[0].endswith(".json")


def test_s3_ingest_and_sns_notification_end_to_end(make_app, bucket):
    s3, sns, sqs = boto3.client("s3"), boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name=f"summaries-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"editors-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    s3.put_object(Bucket=bucket, Key="incoming/item 1.json", Body=json.dumps(news_item()).encode())
    make_app(cache_bucket=bucket, sns_topic_arn=topic)
    out = router.handler(s3_event(bucket, "incoming/item+1.json"), LocalContext())
    assert out["items"][0]["status"] == "summarized"
    msgs = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2)["Messages"]
    note = json.loads(msgs[0]["Body"])
    assert note["id"] == news_item()["id"] and note["summary"] == out["items"][0]["result"]["summary"]
    assert note["source_url"] and note["model_version"] and "flagged" in note["faithfulness"]


def test_bad_items_reach_the_sqs_dead_letter_queue(make_app, bucket):
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    make_app(cache_bucket=bucket, dead_letter_queue_url=dlq)
    router.handler(eventbridge_event({"id": "no-body", "title": "t"}), LocalContext())
    (msg,) = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1, MessageAttributeNames=["All"])["Messages"]
    letter = json.loads(msg["Body"])
    assert letter["item_id"] == "no-body" and "body" in letter["reason"]
    assert msg["MessageAttributes"]["source"]["StringValue"] == "eventbridge"


def test_a_cache_bucket_that_denies_writes_still_delivers_and_counts_it(make_app, bucket, capsys):
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
        ],
    }
    boto3.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny))
    app = make_app(cache_bucket=bucket)
    result = router.handler(sqs_event([json.dumps(news_item())]), LocalContext())
    assert result["batchItemFailures"] == []
    (note,) = [json.loads(line) for line in app.settings.outbox_path.read_text().splitlines()]
    assert note["summary"] and not note["fallback"]
    logs = capsys.readouterr()
    # the claim is the first write: it fails, and the invocation asks the cache nothing more
    assert "cache claim failed" in logs.err and "cache put failed" not in logs.err and '"CacheError"' in logs.out


def test_the_bundle_is_fetched_from_s3_once_and_verified(make_app, bucket, student_dir, tmp_path):
    from functions.runtime.bundle import read_manifest
    from model_export.bundle_writer import publish

    uri = publish(student_dir, read_manifest(student_dir), f"s3://{bucket}/models")
    app = make_app(bundle_uri=uri, bundle_cache_dir=tmp_path / "bundles", bundle_dir=tmp_path / "absent")
    out = router.handler(eventbridge_event(news_item()), LocalContext())
    assert out["items"][0]["result"]["model_version"] == read_manifest(student_dir).version
    fetched = app.bundle_dir
    assert fetched.parent == tmp_path / "bundles" and (fetched / "model.onnx").exists()
    again = make_app(bundle_uri=uri, bundle_cache_dir=tmp_path / "bundles")
    assert again.bundle_dir == fetched  # a warm container (or a second app) reuses /tmp


def test_a_tampered_bundle_in_s3_is_refused_naming_the_file(make_app, bucket, student_dir, tmp_path):
    import pytest

    from functions.runtime.bundle import BundleError, read_manifest
    from model_export.bundle_writer import publish

    uri = publish(student_dir, read_manifest(student_dir), f"s3://{bucket}/models")
    key = uri[len(f"s3://{bucket}/") :] + "tokenizer.json"
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=b"{}")
    app = make_app(bundle_uri=uri, bundle_cache_dir=tmp_path / "bundles")
    with pytest.raises(BundleError, match=r"tokenizer\.json"):
        app.engine()


def test_summary_ready_reaches_an_eventbridge_bus(make_app, bucket):
    events, sqs = boto3.client("events"), boto3.client("sqs")
    bus = f"editors-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName=f"bus-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="summaries", EventBusName=bus, EventPattern=json.dumps({"detail-type": ["SummaryReady"]}))
    events.put_targets(Rule="summaries", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    make_app(cache_bucket=bucket, event_bus_name=bus)
    router.handler(eventbridge_event(news_item()), LocalContext())
    (msg,) = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2)["Messages"]
    event = json.loads(msg["Body"])
    assert event["detail-type"] == "SummaryReady" and event["source"] == "newsburst"
    assert event["detail"]["id"] == news_item()["id"] and event["detail"]["summary"]


def test_unsafe_names_in_a_published_manifest_are_refused(bucket, student_dir, tmp_path):
    import pytest

    from functions.bundle_fetch import fetch_bundle
    from functions.runtime.bundle import BundleError, read_manifest

    s3 = boto3.client("s3")
    manifest = read_manifest(student_dir)
    for bad in (
        manifest.model_copy(update={"files": {**manifest.files, "../../escaped.txt": "0" * 64}}),
        manifest.model_copy(update={"files": {"/tmp/absolute.txt": "0" * 64}}),
        manifest.model_copy(update={"version": "../../v"}),
    ):
        s3.put_object(Bucket=bucket, Key="evil/manifest.json", Body=bad.model_dump_json().encode())
        s3.put_object(Bucket=bucket, Key="evil/../../escaped.txt", Body=b"x")
        with pytest.raises(BundleError, match="unsafe"):
            fetch_bundle(s3, f"s3://{bucket}/evil/", tmp_path / "cache" / "bundles")
    assert not list(tmp_path.rglob("escaped.txt")) and not (tmp_path / "v").exists()


def test_a_corrupt_cached_copy_is_fetched_again(bucket, student_dir, tmp_path):
    from functions.bundle_fetch import fetch_bundle
    from functions.runtime.bundle import read_manifest, verify_bundle
    from model_export.bundle_writer import publish

    s3 = boto3.client("s3")
    uri = publish(student_dir, read_manifest(student_dir), f"s3://{bucket}/models")
    local = fetch_bundle(s3, uri, tmp_path / "bundles")
    (local / "tokenizer.json").write_text("{}")  # a disk error, or a copy fetched while S3 was wrong
    again = fetch_bundle(s3, uri, tmp_path / "bundles")
    assert again == local
    verify_bundle(again, read_manifest(again))  # whole again


def test_the_desk_keeps_stories_and_verdicts_in_s3_beside_the_cache(make_app, bucket):
    from functions.desk_records.verdicts import VerdictIn, export_rows, judge
    from functions.schemas import NewsItem

    app = make_app(cache_bucket=bucket)
    for name in ("lee-170", "lee-020"):
        app.pipeline.run([NewsItem.model_validate(news_item(name))])
    stories, cursor = app.desk_feed.since()
    assert [s["id"] for s in stories] == [news_item("lee-170")["id"], news_item("lee-020")["id"]]
    assert app.desk_feed.since(cursor) == ([], cursor)  # nothing new since the last one
    assert app.desk_feed.since(stories[0]["key"])[0] == stories[1:]
    edited = "Argentina asked banks to pay pensions."
    judge(app.desk_feed, app.verdicts, VerdictIn(story=stories[1]["key"], verdict="edit", summary=edited))
    other = make_app(cache_bucket=bucket)  # another container reads what this one wrote
    rows, counts = export_rows(other.desk_feed, other.verdicts)
    assert counts == {"edit": 1} and [r["reference"] for r in rows] == [edited]
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="desk/")["Contents"]]
    assert sorted(k.split("/")[1] for k in keys) == ["feed", "feed", "verdicts"]
