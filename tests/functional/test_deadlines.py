"""Deadlines: an invocation returns before Lambda's timeout with each item's own outcome,
however the endpoint misbehaves (slow, trickling bytes, never answering)."""

from __future__ import annotations

import json
import time

import pytest

from functions.handlers import router
from functions.local_invoke import LocalContext, eventbridge_event, sqs_event
from ops.fault_servers import raw_server
from tests.factories import long_item, news_item

TIMEOUT_S, MARGIN_S = 6.0, 1.0  # a small Lambda timeout; the deadline is 5 s after the start


@pytest.mark.parametrize("behaviour", ["slow", "trickle", "silent"])
def test_an_sqs_batch_returns_before_its_deadline_with_per_item_outcomes(make_app, behaviour):
    with raw_server(behaviour) as url:
        app = make_app(
            endpoint_url=url,
            endpoint_timeout_s=50,
            endpoint_attempts=3,
            deadline_margin_s=MARGIN_S,
            when_no_model="fail",
        )
        event = sqs_event([json.dumps(news_item()), json.dumps(long_item())])
        start = time.monotonic()
        result = router.handler(event, LocalContext(timeout_s=TIMEOUT_S))
        took = time.monotonic() - start
    print(f"[deadline] sqs batch, endpoint {behaviour}: {took:.2f} s of a {TIMEOUT_S} s Lambda timeout")
    assert took < TIMEOUT_S, f"{behaviour}: {took:.1f} s"
    failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
    assert failed == [event["Records"][1]["messageId"]]  # only the long item goes back to the queue
    (note,) = map(json.loads, app.settings.outbox_path.read_text().splitlines())
    assert note["id"] == news_item()["id"] and note["route"] == "local"


def test_a_late_eventbridge_item_is_handed_to_the_items_queue_in_time(make_app):
    from functions.parsing import parse_item

    with raw_server("trickle") as url:
        app = make_app(endpoint_url=url, endpoint_timeout_s=50, deadline_margin_s=MARGIN_S)
        start = time.monotonic()
        out = router.handler(eventbridge_event(long_item()), LocalContext(timeout_s=TIMEOUT_S))
        assert time.monotonic() - start < TIMEOUT_S
    assert out["items"][0]["status"] == "queued for retry" and "deadline reached" in out["items"][0]["reason"]
    (queued,) = app.settings.handoff_dir.glob("*.json")  # the SQS trigger retries it with fresh time
    assert parse_item(queued.read_bytes()).id == long_item()["id"]
    assert not list(app.settings.cache_dir.glob("*.pending"))  # the retry can claim it at once


def test_the_api_answers_202_with_a_location_and_the_poll_finds_the_summary_later(make_app):
    from functions.parsing import parse_item
    from tests.factories import http_event
    from tests.stand_ins import teacher

    with teacher(delay_first_s=30) as (url, requests):
        app = make_app(endpoint_url=url, api_sync_budget_s=2.0)
        start = time.monotonic()
        resp = router.handler(http_event(json.dumps(long_item())), LocalContext(timeout_s=30))
        assert time.monotonic() - start < 5  # the API's budget, not Lambda's 30 s
        assert resp["statusCode"] == 202
        location = resp["headers"]["Location"]
        assert location == json.loads(resp["body"])["location"] and location.startswith("/summaries/")
        (queued,) = app.settings.handoff_dir.glob("*.json")
        assert parse_item(queued.read_bytes()).id == long_item()["id"]
        poll = http_event("", path=location, method="GET")
        assert router.handler(poll, LocalContext())["statusCode"] == 404  # not summarized yet

        requests.clear()  # the endpoint recovers; the queue's trigger summarizes the handed-off item
        worker = make_app(endpoint_url=url, cache_dir=app.settings.cache_dir)
        assert router.handler(sqs_event([queued.read_text()]), LocalContext())["batchItemFailures"] == []
    found = router.handler(http_event("", path=location, method="GET"), LocalContext())
    assert found["statusCode"] == 200 and json.loads(found["body"])["summary"] == "The teacher wrote this."
    assert worker.pipeline.key_for(parse_item(queued.read_bytes())) == location.rsplit("/", 1)[1]
    bad = router.handler(http_event("", path="/summaries/not-a-key", method="GET"), LocalContext())
    assert bad["statusCode"] == 400


def test_a_202_whose_item_ends_as_a_lead_is_answered_by_the_poll(make_app):
    """The handed-off item finds the endpoint gone: its lead stands in, and the poll gets it
    (marked fallback) instead of 404 for ever."""
    from functions.parsing import parse_item
    from tests.factories import http_event
    from tests.stand_ins import teacher

    with teacher(delay_first_s=30) as (url, _):
        app = make_app(endpoint_url=url, api_sync_budget_s=2.0)
        resp = router.handler(http_event(json.dumps(long_item())), LocalContext(timeout_s=30))
    assert resp["statusCode"] == 202
    (queued,) = app.settings.handoff_dir.glob("*.json")
    make_app(endpoint_url=url, endpoint_attempts=1, cache_dir=app.settings.cache_dir)  # the server is down now
    assert router.handler(sqs_event([queued.read_text()]), LocalContext())["batchItemFailures"] == []
    found = router.handler(http_event("", path=resp["headers"]["Location"], method="GET"), LocalContext())
    body = json.loads(found["body"])
    assert found["statusCode"] == 200 and body["fallback"] and body["route"] == "fallback"
    assert body["summary"] and body["summary"] in " ".join(parse_item(queued.read_bytes()).body.split())


def test_local_generation_stops_at_the_deadline_and_hands_the_unfinished_back(make_app, monkeypatch):
    from functions.pipeline import ItemFailure
    from functions.runtime.deadline import NEVER, Deadline
    from functions.schemas import NewsItem, SummaryResult

    app = make_app()
    summarizer, _ = app.engine()
    body = news_item()["body"]
    # each token takes 30 ms of a fake monotonic clock (time_machine does not move time.monotonic, so the
    # real clock made this pass or fail by the machine's speed)
    clock = [time.monotonic()]
    with monkeypatch.context() as patch:
        patch.setattr(time, "monotonic", lambda: clock[0])
        stop_at = clock[0] + 0.05
        cut = summarizer(
            body, max_new_tokens=64, on_token=lambda _: clock.__setitem__(0, clock[0] + 0.03), stop_at=stop_at,
            grounding="off",
        )  # fmt: skip
    assert cut.generation.stop_reason == "deadline" and 1 <= len(cut.generation.token_ids) <= 3
    items = [NewsItem.model_validate(news_item(id=f"n{i}")).settled(app.settings) for i in range(3)]
    late = app.pipeline.model.run(items, time.perf_counter(), Deadline.after(-0.01))
    assert all(isinstance(o, ItemFailure) and o.late and o.retryable for o in late)  # retried, never half a summary
    assert all(isinstance(o, SummaryResult) for o in app.pipeline.model.run(items, time.perf_counter(), NEVER))
