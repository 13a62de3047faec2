"""The escalation client: bounded retries with jittered backoff behind a circuit breaker.

tenacity does the retries and pybreaker the breaker; the breaker wraps the whole retried
call, so one dead endpoint costs a caller at most ``attempts`` tries and, once the circuit is
open, nothing at all until ``reset_s`` has passed. An endpoint that stays silent for a whole
attempt (no answer, or one trickling in) is not tried again and opens the circuit at once: each
further try, by this invocation or the next, would hold the container for the same bound while
the items that need no endpoint queue behind it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pybreaker
from pydantic import ValidationError
from tenacity import (
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    stop_any,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from functions.escalation.transport import EndpointError, EndpointRejected, TransientEndpointError, Transport
from functions.runtime.deadline import NEVER, Deadline, DeadlineReached, within
from functions.schemas import EndpointRequest, EndpointResponse, GenerationParameters, NewsItem


class EndpointUnavailable(RuntimeError):
    """The endpoint could not summarize these items (down, circuit open, or it refused them)."""


class EndpointLate(EndpointUnavailable):
    """The invocation's deadline came before the endpoint's answer: a later try has fresh time."""


MIN_ATTEMPT_S = 0.2  # less time than this left: do not start an attempt
SILENT_SHARE = 0.9  # an attempt that failed after this share of its bound found the endpoint silent


class EndpointSilent(TransientEndpointError):
    """No answer within an attempt's whole bound."""


class _PastDeadline(stop_base):
    def __init__(self, deadline: Deadline):
        self.deadline = deadline

    def __call__(self, retry_state) -> bool:
        return self.deadline.remaining() < MIN_ATTEMPT_S


class EndpointClient:
    def __init__(
        self,
        transport: Transport,
        attempts: int = 3,
        backoff_s: float = 0.5,
        failures: int = 3,
        reset_s: float = 30,
        timeout_s: float = 50.0,
    ):
        self.transport = transport
        self.attempts, self.backoff_s, self.timeout_s = attempts, backoff_s, timeout_s
        self.breaker = pybreaker.CircuitBreaker(fail_max=failures, reset_timeout=reset_s, exclude=[EndpointRejected])

    @property
    def circuit(self) -> str:
        return str(self.breaker.current_state)  # "closed" | "open" | "half-open"

    def summarize(
        self, items: Sequence[NewsItem], parameters: GenerationParameters | None = None, deadline: Deadline = NEVER
    ) -> EndpointResponse:
        request = EndpointRequest(items=list(items), parameters=parameters or GenerationParameters())
        payload = request.model_dump(mode="json")
        try:
            return self.breaker.call(self._retried, payload, [i.id for i in items], deadline)
        except pybreaker.CircuitBreakerError:
            raise EndpointUnavailable(f"circuit open for {self.transport.target}") from None
        except EndpointError as exc:
            if isinstance(exc, EndpointSilent):
                self.breaker.open()
            if deadline.remaining() < MIN_ATTEMPT_S:
                raise EndpointLate(f"deadline reached waiting for the endpoint ({exc})") from None
            raise EndpointUnavailable(str(exc)) from None

    def _retried(self, payload: dict, ids: list[str], deadline: Deadline) -> EndpointResponse:
        backoff = wait_random_exponential(multiplier=self.backoff_s, max=8 * self.backoff_s)
        retrying = Retrying(
            stop=stop_any(stop_after_attempt(self.attempts), _PastDeadline(deadline)),
            wait=lambda state: deadline.cap(backoff(state)),
            retry=retry_if_exception_type(TransientEndpointError) & retry_if_not_exception_type(EndpointSilent),
            reraise=True,
        )
        return retrying(self._once, payload, ids, deadline)

    def _once(self, payload: dict, ids: list[str], deadline: Deadline) -> EndpointResponse:
        """One call, bounded in total time, whose answer must be the response schema for exactly
        these items: anything else is an endpoint failure (retried, counted by the breaker)."""
        timeout = deadline.cap(self.timeout_s)
        if timeout < MIN_ATTEMPT_S:
            raise TransientEndpointError("no time left before the invocation's deadline")
        started = time.monotonic()
        try:  # bounded in total, not per read (see deadline.within)
            raw = within(Deadline.after(timeout), self.transport.invoke, payload, timeout)
        except DeadlineReached:
            raise EndpointSilent(f"no complete answer within {timeout:.1f} s") from None
        except TransientEndpointError as exc:  # the transport's own read timeout is the same silence
            if time.monotonic() - started >= SILENT_SHARE * timeout:
                raise EndpointSilent(f"{exc} after {timeout:.1f} s") from None
            raise
        try:
            response = EndpointResponse.model_validate(raw)
        except ValidationError:
            raise TransientEndpointError("endpoint answered with a body that is not a summary response") from None
        if [r.id for r in response.results] != ids:
            raise TransientEndpointError("endpoint answered for different items than it was sent")
        return response
