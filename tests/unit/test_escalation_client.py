"""Retries and the circuit breaker, over a scripted transport (the real-HTTP cases are functional)."""

import pytest

from functions.escalation.client import EndpointClient, EndpointUnavailable
from functions.escalation.transport import EndpointRejected, TransientEndpointError, Transport
from functions.schemas import NewsItem

ITEM = NewsItem(id="a", body="Some text.")
OK = {"results": [{"id": "a", "summary": "s", "model_version": "t", "route": "escalate"}], "batch_size": 1}


class Scripted(Transport):
    def __init__(self, *answers):
        self.answers, self.calls = list(answers), 0

    target = "scripted"

    def invoke(self, payload, timeout_s):
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else self.answers_default
        if isinstance(answer, Exception):
            raise answer
        return answer

    answers_default = OK


def test_transient_failures_are_retried_then_succeed():
    t = Scripted(TransientEndpointError("500"), TransientEndpointError("timeout"), OK)
    client = EndpointClient(t, attempts=3, backoff_s=0.001)
    assert client.summarize([ITEM]).results[0].summary == "s"
    assert t.calls == 3


def test_a_rejection_is_not_retried_and_does_not_open_the_circuit():
    t = Scripted(*[EndpointRejected("400")] * 5)
    client = EndpointClient(t, attempts=3, backoff_s=0.001, failures=2)
    for _ in range(3):
        with pytest.raises(EndpointUnavailable, match="400"):
            client.summarize([ITEM])
    assert t.calls == 3 and client.circuit == "closed"


def test_the_circuit_opens_after_repeated_failures_and_stops_calling():
    t = Scripted(*[TransientEndpointError("down")] * 100)
    client = EndpointClient(t, attempts=2, backoff_s=0.001, failures=2, reset_s=60)
    for _ in range(2):
        with pytest.raises(EndpointUnavailable):
            client.summarize([ITEM])
    calls = t.calls
    assert client.circuit == "open"
    with pytest.raises(EndpointUnavailable, match="circuit open"):
        client.summarize([ITEM])
    assert t.calls == calls  # an open circuit costs no call at all


def test_an_answer_for_other_items_is_retried_then_refused():
    other = {**OK, "results": [{**OK["results"][0], "id": "b"}]}
    t = Scripted(*[other] * 3)
    with pytest.raises(EndpointUnavailable, match="different items"):
        EndpointClient(t, attempts=3, backoff_s=0.001).summarize([ITEM])
    assert t.calls == 3
    once = Scripted(other, OK)  # a replica that answered wrong once: the retry succeeds
    assert EndpointClient(once, attempts=3, backoff_s=0.001).summarize([ITEM]).results[0].id == "a"


def test_an_endpoint_silent_for_a_whole_attempt_is_not_retried_and_opens_the_circuit():
    import threading

    never = threading.Event()

    class Silent(Scripted):
        def invoke(self, payload, timeout_s):
            self.calls += 1
            never.wait(5)

    t = Silent()
    client = EndpointClient(t, attempts=3, backoff_s=0.001, failures=3, timeout_s=0.3)
    with pytest.raises(EndpointUnavailable, match="no complete answer"):
        client.summarize([ITEM])
    assert t.calls == 1 and client.circuit == "open"  # one bound spent, not three; the next caller spends none
    with pytest.raises(EndpointUnavailable, match="circuit open"):
        client.summarize([ITEM])
    assert t.calls == 1
    never.set()
