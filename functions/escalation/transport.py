"""How a request reaches the GPU endpoint: SageMaker's invoke_endpoint, or plain HTTPS.

Both transports make exactly one attempt and sort failures into transient (worth a retry)
and rejected (our request is wrong; a retry cannot help). Retries and the circuit breaker
live in ``client.py`` so they behave the same over either transport.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator

import urllib3
from botocore.exceptions import BotoCoreError, ClientError

from functions.schemas import MAX_ANSWER_BYTES, SECRET_HEADER


class EndpointError(RuntimeError):
    pass


class TransientEndpointError(EndpointError):
    """Timeout, refused connection, throttling or a 5xx: the endpoint may answer next time."""


class EndpointRejected(EndpointError):
    """A 4xx: the endpoint understood us and said no."""


def _decode(body: bytes) -> dict:
    """A 200 whose body is not a JSON object (an HTML error page from a proxy, a truncated body)
    is an endpoint failure like a 5xx: retried, counted by the breaker, then the fallback."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise TransientEndpointError("endpoint answered 200 with a body that is not JSON") from None
    if not isinstance(value, dict):
        raise TransientEndpointError(f"endpoint answered 200 with JSON {type(value).__name__}, not an object")
    return value


def _read_capped(read, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """At most ``limit`` bytes of an answer: a 300 MB answer took the function from 97 to 1,138 MB
    (issue 22). Past the cap the answer is an endpoint failure, like a body that is not JSON."""
    body = read(limit + 1)
    if len(body) > limit:
        raise TransientEndpointError(f"endpoint answer is over {limit} bytes")
    return body


def _classify(status: int, reason: str) -> EndpointError:
    if status == 429 or status >= 500:
        return TransientEndpointError(f"endpoint answered {status}: {reason}")
    return EndpointRejected(f"endpoint answered {status}: {reason}")


class Transport(ABC):
    @abstractmethod
    def invoke(self, payload: dict, timeout_s: float) -> dict:
        """One attempt; ``timeout_s`` bounds each network wait (the client bounds the total)."""

    @property
    @abstractmethod
    def target(self) -> str:
        """Where requests go, for logs (never includes a secret)."""


class HttpsTransport(Transport):
    def __init__(self, url: str, secret: str | None = None):
        self.url = url.rstrip("/") + "/invocations"
        self.headers = {"Content-Type": "application/json"} | ({SECRET_HEADER: secret} if secret else {})
        self.http = urllib3.PoolManager()

    @property
    def target(self) -> str:
        return self.url

    def _post(self, payload: dict, timeout_s: float, headers: dict | None = None) -> urllib3.BaseHTTPResponse:
        """One POST whose body is read by the caller (``preload_content=False``); no retries here."""
        return self.http.request(
            "POST",
            self.url,
            body=json.dumps(payload),
            headers=self.headers | (headers or {}),
            retries=False,
            timeout=urllib3.Timeout(connect=min(3.0, timeout_s), read=timeout_s),
            preload_content=False,
        )

    def invoke(self, payload: dict, timeout_s: float) -> dict:
        try:
            resp = self._post(payload, timeout_s)
            try:
                body = _read_capped(resp.read)
            finally:
                resp.release_conn()
        except urllib3.exceptions.HTTPError as exc:  # timeouts and refused connections
            raise TransientEndpointError(f"endpoint unreachable: {type(exc).__name__}") from None
        if resp.status != 200:
            raise _classify(resp.status, body[:200].decode("utf-8", "replace"))
        return _decode(body)

    def stream(self, payload: dict, timeout_s: float) -> Iterator[tuple[str, str]]:
        """One item's SSE events from the endpoint (``token``, then ``result`` or ``error``), as
        (event, data) pairs while they arrive: the desk shows an escalated summary being written."""
        import sseclient  # here: only the desk streams

        try:
            resp = self._post(payload, timeout_s, {"Accept": "text/event-stream"})
            try:
                if resp.status != 200:
                    raise _classify(resp.status, _read_capped(resp.read)[:200].decode("utf-8", "replace"))
                for event in sseclient.SSEClient(resp.stream(4096)).events():
                    yield event.event, event.data
            finally:
                resp.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            raise TransientEndpointError(f"endpoint unreachable: {type(exc).__name__}") from None


class SageMakerTransport(Transport):
    def __init__(self, session, endpoint_name: str, timeout_s: float):
        self.endpoint_name = endpoint_name
        from botocore.config import Config  # here, not at import: most containers never build this transport

        self.client = session.client(
            "sagemaker-runtime",
            config=Config(read_timeout=timeout_s, connect_timeout=3, retries={"max_attempts": 1, "mode": "standard"}),
        )

    @property
    def target(self) -> str:
        return f"sagemaker:{self.endpoint_name}"

    def invoke(self, payload: dict, timeout_s: float) -> dict:
        try:  # botocore's timeouts are fixed per client (the configured maximum); the client bounds the total
            resp = self.client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps(payload).encode(),
            )
        except ClientError as exc:
            err = exc.response.get("Error", {})
            status = int(exc.response.get("OriginalStatusCode") or exc.response["ResponseMetadata"]["HTTPStatusCode"])
            raise _classify(status, f"{err.get('Code')}: {err.get('Message', '')[:200]}") from None
        except BotoCoreError as exc:  # connect/read timeouts, endpoint connection errors
            raise TransientEndpointError(f"endpoint unreachable: {type(exc).__name__}") from None
        return _decode(_read_capped(resp["Body"].read))
