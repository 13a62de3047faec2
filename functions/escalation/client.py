"""The escalation client: bounded retries with jittered backoff behind a circuit breaker.

tenacity does the retries and pybreaker the breaker; the breaker wraps the whole retried
call, so one dead endpoint costs a caller at most ``attempts`` tries and, once the circuit is
open, nothing at all until ``reset_s`` has passed.
"""

from __future__ import annotations

from collections.abc import Sequence

import pybreaker
from pydantic import ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from functions.escalation.transport import EndpointError, EndpointRejected, TransientEndpointError, Transport
from functions.schemas import EndpointRequest, EndpointResponse, GenerationParameters, NewsItem


class EndpointUnavailable(RuntimeError):
    """The endpoint could not summarize these items (down, circuit open, or it refused them)."""


class EndpointClient:
    def __init__(
        self, transport: Transport, attempts: int = 3, backoff_s: float = 0.5, failures: int = 3, reset_s: float = 30
    ):
        self.transport = transport
        self.attempts, self.backoff_s = attempts, backoff_s
        self.breaker = pybreaker.CircuitBreaker(fail_max=failures, reset_timeout=reset_s, exclude=[EndpointRejected])

    @property
    def circuit(self) -> str:
        return str(self.breaker.current_state)  # "closed" | "open" | "half-open"

    def summarize(self, items: Sequence[NewsItem], parameters: GenerationParameters | None = None) -> EndpointResponse:
        request = EndpointRequest(items=list(items), parameters=parameters or GenerationParameters())
        payload = request.model_dump(mode="json")
        try:
            return self.breaker.call(self._retried, payload, [i.id for i in items])
        except pybreaker.CircuitBreakerError:
            raise EndpointUnavailable(f"circuit open for {self.transport.target}") from None
        except EndpointError as exc:
            raise EndpointUnavailable(str(exc)) from None

    def _retried(self, payload: dict, ids: list[str]) -> EndpointResponse:
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_random_exponential(multiplier=self.backoff_s, max=8 * self.backoff_s),
            retry=retry_if_exception_type(TransientEndpointError),
            reraise=True,
        )
        return retrying(self._once, payload, ids)

    def _once(self, payload: dict, ids: list[str]) -> EndpointResponse:
        """One call whose answer must be the response schema for exactly these items: anything
        else is an endpoint failure (retried, counted by the breaker), never a crash."""
        raw = self.transport.invoke(payload)
        try:
            response = EndpointResponse.model_validate(raw)
        except ValidationError:
            raise TransientEndpointError("endpoint answered with a body that is not a summary response") from None
        if [r.id for r in response.results] != ids:
            raise TransientEndpointError("endpoint answered for different items than it was sent")
        return response
