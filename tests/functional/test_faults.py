"""Faults over real HTTP: the cache and the endpoint down, slow or answering garbage.

Each test counts the items: every one ends as a summary or a reported failure, and no claim
marker outlives the invocation.
"""

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
from ops.fleet import Container, container_env
from tests.factories import long_item, news_item
from tests.stand_ins import answering, s3_error, teacher


def _notes(app) -> list[dict]:
    return [json.loads(line) for line in app.settings.outbox_path.read_text().splitlines()]


@pytest.mark.parametrize(
    "body",
    [b"<html>502 Bad Gateway</html>", b'{"results": "nope"}', b'{"results": [{"id": "someone-else"}]}', b"[]"],
)
def test_a_garbage_answer_is_an_endpoint_failure_retried_then_the_fallback(make_app, body):
    with answering(200, body) as (url, calls):
        app = make_app(endpoint_url=url, endpoint_attempts=2, endpoint_backoff_s=0.01)
        result = router.handler(sqs_event([json.dumps(long_item())]), LocalContext())
    assert result["batchItemFailures"] == [] and len(calls) == 2  # retried like a 5xx
    (note,) = _notes(app)
    assert note["fallback"] and note["escalated"]
    assert not list(app.settings.cache_dir.glob("*.pending"))  # the claim was released


def test_no_endpoint_under_the_fail_policy_is_a_permanent_failure(make_app):
    app = make_app(when_no_model="fail")
    out = router.handler(eventbridge_event(long_item()), LocalContext())  # no RetryLater: dead-lettered at once
    assert out["items"][0]["status"] == "dead-lettered"
    assert "no GPU endpoint" in out["items"][0]["reason"]
    assert not list(app.settings.cache_dir.glob("*.pending"))


def test_an_unreachable_cache_bucket_degrades_to_no_cache(make_app, aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    app = make_app(cache_bucket="unreachable")
    start = time.monotonic()
    result = router.handler(sqs_event([json.dumps(news_item())]), LocalContext())
    assert result["batchItemFailures"] == []
    (note,) = _notes(app)
    assert note["summary"] and not note["cache_hit"] and time.monotonic() - start < 60


def test_a_crash_mid_generation_releases_every_claim(make_app, monkeypatch):
    app = make_app()

    def boom():
        raise MemoryError("the container ran out of memory")

    monkeypatch.setattr(app.pipeline, "engine", boom)
    with pytest.raises(MemoryError):
        router.handler(sqs_event([json.dumps(news_item()), json.dumps(news_item("lee-020"))]), LocalContext())
    assert not list(app.settings.cache_dir.glob("*.pending"))


def test_a_container_killed_mid_invocation_blocks_its_item_one_timeout_not_the_claim_ttl(
    make_app, student_dir, tmp_path
):
    """A SIGKILL runs no ``finally``: the killed invocation's claim stays behind and must lapse with
    the invocation, or every redelivery meets "being summarized" until claim_ttl_s (the chaos run
    dead-lettered such records after five receives)."""
    with teacher(delay_first_s=30) as (url, _):  # the killed container's call gets no answer: it holds its claim there
        env = container_env(student_dir, tmp_path, endpoint_url=url, allow_ungated=True)
        box = Container.start(env, idle_expiry_s=60, log=tmp_path / "container.log", timeout_s=6)
        threading.Thread(target=box.invoke, args=(sqs_event([json.dumps(long_item())]),), daemon=True).start()
        give_up = time.monotonic() + 30
        while not list((tmp_path / "cache").glob("*.pending")) and time.monotonic() < give_up:
            time.sleep(0.02)
        box.proc.kill()
        box.proc.wait()
        assert list((tmp_path / "cache").glob("*.pending"))  # the dead invocation's claim
        make_app(endpoint_url=url, claim_wait_s=0.2)  # the same deployment: the same cache key
        redelivered = sqs_event([json.dumps(long_item())])
        assert router.handler(redelivered, LocalContext())["batchItemFailures"]  # held while it could still run
        with time_machine.travel(time.time() + 6 + 2 + 1):  # past its timeout and the grace for writing down
            assert router.handler(redelivered, LocalContext())["batchItemFailures"] == []


def test_s3_claims_are_owner_checked_on_release(aws):
    name = f"claims-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=name)
    stale, fresh = S3Cache(boto3.client("s3"), name), S3Cache(boto3.client("s3"), name)
    with time_machine.travel(time.time()) as clock:
        assert stale.claim("k", ttl_s=0.5)
        clock.shift(0.7)
        assert fresh.claim("k", ttl_s=60)
    stale.release("k")
    assert fresh.pending("k")
    fresh.release("k")
    assert not fresh.pending("k")
    boto3.client("s3").put_object(Bucket=name, Key="k2.json", Body=b"<corrupt")
    from functions.cache.store import CacheError

    with pytest.raises(CacheError, match="corrupt"):
        fresh.get("k2")


def test_the_resolved_grounding_mode_travels_to_the_endpoint(make_app):
    with teacher() as (url, requests):
        make_app(endpoint_url=url, grounding="tokens")
        router.handler(
            sqs_event([json.dumps(long_item()), json.dumps(long_item(id="own", grounding="off"))]), LocalContext()
        )
    sent = {i["id"]: i["grounding"] for i in requests[0].json()["items"]}
    assert sent == {long_item()["id"]: "tokens", "own": "off"}  # the deployment's default, or the item's own


def test_a_new_teacher_version_does_not_serve_the_old_teachers_summaries(make_app):
    with teacher() as (url, requests):
        for version, expected_calls in (("teacher-1", 1), ("teacher-1", 1), ("teacher-2", 2)):
            make_app(endpoint_url=url, endpoint_model_version=version)
            router.handler(sqs_event([json.dumps(long_item())]), LocalContext())
            assert len(requests) == expected_calls, version


@pytest.mark.parametrize(
    ("status", "code", "delay_s"),
    [(500, "InternalError", 0.0), (503, "SlowDown", 0.0), (200, "Slow", 6.0)],
    ids=["500", "503-slowdown", "slow"],
)
def test_a_failing_cache_bucket_never_stops_a_summary(make_app, aws, monkeypatch, status, code, delay_s):
    with s3_error(status, code, delay_s) as (url, calls):
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        app = make_app(cache_bucket="faulty")
        start = time.monotonic()
        result = router.handler(sqs_event([json.dumps(news_item())]), LocalContext())
        took = time.monotonic() - start
    print(f"[fault] cache bucket answering {status} {code} after {delay_s} s: invocation {took:.2f} s")
    assert result["batchItemFailures"] == [] and calls  # the cache was tried ...
    (note,) = _notes(app)
    assert note["summary"] and not note["fallback"]  # ... and the summary arrived all the same
    assert took < 60, took  # every S3 call is bounded (2 s connect, 5 s read, 2 attempts)


def test_a_slow_cache_bucket_cannot_push_an_invocation_past_its_deadline(make_app, aws, monkeypatch):
    with s3_error(200, "Slow", delay_s=8.0) as (url, _):
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        app = make_app(cache_bucket="slow", deadline_margin_s=3.0)
        start = time.monotonic()
        result = router.handler(sqs_event([json.dumps(news_item())]), LocalContext(timeout_s=8.0))
        took = time.monotonic() - start
    print(f"[deadline] sqs batch, cache bucket answering after 8 s: {took:.2f} s of an 8.0 s Lambda timeout")
    assert took < 8.0, took  # the deadline is 5 s; writing down what is done gets 2 s more
    assert result["batchItemFailures"] == []
    (note,) = _notes(app)
    assert note["summary"]  # summarized without the cache


def test_a_cache_folder_that_cannot_be_used_degrades_to_no_cache(make_app, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    app = make_app(cache_dir=blocker / "cache")  # mkdir and every write fail: NotADirectoryError
    result = router.handler(sqs_event([json.dumps(news_item())]), LocalContext())
    assert result["batchItemFailures"] == []
    (note,) = _notes(app)
    assert note["route"] == "local" and note["summary"]
