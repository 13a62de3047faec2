"""Escalation over real HTTP: the GPU endpoint process, and stand-in servers that misbehave."""

from __future__ import annotations

import json
import socket

from functions.handlers import router
from functions.local_invoke import LocalContext, sqs_event
from tests.factories import long_item, news_item
from tests.stand_ins import misbehaving


def _refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # closed again: connections are refused


def _run(items: list[dict]) -> dict:
    return router.handler(sqs_event([json.dumps(i) for i in items]), LocalContext())


def test_long_items_go_to_the_gpu_endpoint_and_short_ones_stay_local(make_app, start_endpoint, tiny_export):
    teacher = tiny_export[0] / "teacher"
    with start_endpoint(teacher, secret="s3cret") as url:
        app = make_app(endpoint_url=url, endpoint_secret="s3cret")
        result = _run([news_item(), long_item()])
    assert result["batchItemFailures"] == []
    notes = {n["id"]: n for n in map(json.loads, app.settings.outbox_path.read_text().splitlines())}
    far, near = notes[long_item()["id"]], notes[news_item()["id"]]
    teacher_version = json.loads((teacher / "manifest.json").read_text())["version"]
    assert far["escalated"] and not far["fallback"] and far["model_version"] == teacher_version and far["summary"]
    assert not near["escalated"] and near["route"] == "local"


def test_endpoint_500s_are_retried_then_fall_back_to_lead_sentences(make_app):
    with misbehaving(500) as (url, calls):
        app = make_app(endpoint_url=url, endpoint_attempts=3, endpoint_backoff_s=0.01)
        result = _run([long_item()])
    assert result["batchItemFailures"] == [] and len(calls) == 3
    (note,) = map(json.loads, app.settings.outbox_path.read_text().splitlines())
    assert note["fallback"] and note["escalated"] and note["model_version"] == "lead-3"


def test_endpoint_timeout_with_fail_policy_sends_the_item_back_to_the_queue(make_app):
    with misbehaving(200, delay_s=2.0) as (url, calls):
        app = make_app(
            endpoint_url=url, endpoint_timeout_s=0.3, endpoint_attempts=2, endpoint_backoff_s=0.01, when_no_model="fail"
        )
        event_items = [long_item(), news_item()]
        result = _run(event_items)
    assert len(result["batchItemFailures"]) == 1  # the short item was still summarized
    # silent for a whole attempt: not tried again, and the container's circuit opens at once
    assert len(calls) == 1 and app.escalator.circuit == "open"


def test_a_refused_connection_opens_the_circuit_and_later_calls_skip_the_endpoint(make_app):
    app = make_app(endpoint_url=_refused_url(), endpoint_attempts=1, breaker_failures=2, breaker_reset_s=60)
    for i in range(3):
        assert _run([long_item(id=f"long-{i}")])["batchItemFailures"] == []
    assert app.escalator.circuit == "open"
    notes = list(map(json.loads, app.settings.outbox_path.read_text().splitlines()))
    assert [n["fallback"] for n in notes] == [True, True, True]


def test_an_oversized_answer_is_refused_without_being_read_whole():
    from functions.escalation.transport import HttpsTransport, TransientEndpointError
    from functions.schemas import MAX_ANSWER_BYTES
    from tests.stand_ins import answering

    huge = b'{"results": [], "pad": "' + b"x" * (MAX_ANSWER_BYTES + 10) + b'"}'
    with answering(200, huge) as (url, _):
        transport = HttpsTransport(url)
        try:
            transport.invoke({"items": []}, timeout_s=10)
        except TransientEndpointError as exc:
            assert "over" in str(exc)
        else:
            raise AssertionError("an answer over MAX_ANSWER_BYTES was accepted")
    with answering(200, b'{"results": [], "batch_size": 0}') as (url, _):
        assert HttpsTransport(url).invoke({"items": []}, timeout_s=10) == {"results": [], "batch_size": 0}
