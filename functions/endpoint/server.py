"""The GPU endpoint's HTTP server: SageMaker's container contract on port 8080.

``GET /ping`` answers 200 only once the model is loaded; ``POST /invocations`` takes an
EndpointRequest and answers an EndpointResponse (or, with ``Accept: text/event-stream``, one
item's tokens as server-sent events). Written on the standard library's threading HTTP
server: the contract is two JSON routes plus SSE, and the container needs no web framework
for that; the batching and backpressure live in ``batcher.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import logging
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import onnxruntime as ort
from pydantic import ValidationError

from functions.config import EndpointSettings
from functions.endpoint.batcher import DeadlineExceeded, DynamicBatcher, Overloaded
from functions.escalation.transport import SECRET_HEADER
from functions.parsing import describe
from functions.results import summary_result
from functions.runtime.budget import RouteDecision
from functions.runtime.model import LocalModel, load_model
from functions.runtime.snapstart import WARMUP_ARTICLE
from functions.runtime.summarize import NeedsEscalation, Summarizer
from functions.schemas import MAX_REQUEST_BYTES, EndpointRequest, EndpointResponse, GenerationParameters, NewsItem

log = logging.getLogger("newsburst.endpoint")
MAX_BODY = 64 * MAX_REQUEST_BYTES


class Endpoint:
    """The loaded model plus its batcher; built in the background so /ping can answer at once."""

    def __init__(self, settings: EndpointSettings):
        self.settings = settings
        self.summarizer: Summarizer | None = None
        self.batcher: DynamicBatcher | None = None
        self.error: str | None = None
        self.provider = ""

    def load(self) -> None:
        s = self.settings
        try:
            available = set(ort.get_available_providers())
            providers = [p for p in s.providers if p in available] or ["CPUExecutionProvider"]
            model: LocalModel = load_model(s.bundle_dir, s.threads, True, providers)
            self.provider = model.session.get_providers()[0]
            summarizer = Summarizer(model)
            if s.warmup:  # first runs allocate arenas (and on CUDA pick kernels): pay before /ping says ready
                summarizer(WARMUP_ARTICLE * 20, max_new_tokens=4)
            self.summarizer = summarizer
            self.batcher = DynamicBatcher(self._run_batch, s.max_batch, s.batch_window_ms, s.queue_size)
            log.info("model %s loaded on %s", model.manifest.version, self.provider)
        except Exception as exc:
            self.error = str(exc)
            log.error("model load failed: %s", exc)

    @property
    def version(self) -> str:
        return self.summarizer.model.manifest.version if self.summarizer else ""

    def _run_batch(self, items: list[NewsItem], params: GenerationParameters) -> list:
        start = time.perf_counter()
        modes = [i.grounding or params.grounding or self.settings.grounding for i in items]
        done = self.summarizer.batch([i.body for i in items], max_new_tokens=params.max_new_tokens, grounding=modes)
        elapsed = (time.perf_counter() - start) * 1000
        return [
            d if isinstance(d, RouteDecision) else summary_result(i.id, d, self.version, "escalate", elapsed, None, m)
            for i, d, m in zip(items, done, modes, strict=True)
        ]

    def over_budget(self, request: EndpointRequest) -> str | None:
        for item in request.items:
            _, decision = self.summarizer.route(item.body, request.parameters.max_new_tokens)
            if decision.route == "escalate":
                return f"item {item.id}: {decision.needed} tokens exceed this model's {decision.budget}"
        return None


class Handler(BaseHTTPRequestHandler):
    endpoint: Endpoint  # set on the subclass built by make_server
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args) -> None:  # access log without bodies, to our logger
        log.debug("%s %s", self.address_string(), fmt % args)

    def _refuse(self, status: int, body: dict, headers: dict | None = None) -> None:
        """Answer without reading the request body, so the connection cannot be reused."""
        self.close_connection = True
        self._send(status, body, {**(headers or {}), "Connection": "close"})

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        ep = self.endpoint
        if self.path != "/ping":
            return self._send(404, {"error": f"no route GET {self.path}"})
        if ep.summarizer is None:
            return self._send(503, {"status": "failed" if ep.error else "loading", "error": ep.error})
        b = ep.batcher
        return self._send(
            200,
            {
                "status": "ok",
                "model_version": ep.version,
                "provider": ep.provider,
                "batches": b.batches,
                "largest_batch": b.largest_batch,
            },
        )

    def _authorized(self) -> bool:
        secret = self.endpoint.settings.secret
        if secret is None:
            return True
        given = self.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode(), secret.get_secret_value().encode())

    def _read_request(self) -> EndpointRequest | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._refuse(413, {"error": f"request is {length} bytes; the limit is {MAX_BODY}"})
            return None
        try:
            return EndpointRequest.model_validate_json(self.rfile.read(length))
        except ValidationError as exc:
            self._send(400, {"error": describe(exc)})
            return None

    def do_POST(self) -> None:
        ep = self.endpoint
        if self.path != "/invocations":
            return self._refuse(404, {"error": f"no route POST {self.path}"})
        if not self._authorized():
            return self._refuse(401, {"error": f"missing or wrong {SECRET_HEADER} header"})
        if ep.summarizer is None:
            return self._refuse(503, {"error": "model not loaded yet"}, {"Retry-After": "5"})
        if (request := self._read_request()) is None:
            return None
        if reason := ep.over_budget(request):
            return self._send(413, {"error": reason})
        if "text/event-stream" in self.headers.get("Accept", ""):
            return self._stream(request)
        try:
            future = ep.batcher.submit(request.items, request.parameters, ep.settings.deadline_s)
        except Overloaded as exc:
            return self._send(429, {"error": f"overloaded: {exc}"}, {"Retry-After": "1"})
        try:
            results, batch_size = future.result(timeout=ep.settings.deadline_s)
        except (FutureTimeout, DeadlineExceeded):
            return self._send(504, {"error": f"no answer within {ep.settings.deadline_s} s"})
        except Exception as exc:
            log.exception("generation failed")
            return self._send(500, {"error": f"generation failed: {type(exc).__name__}"})
        self._send(200, EndpointResponse(results=results, batch_size=batch_size).model_dump(mode="json"))

    def _stream(self, request: EndpointRequest) -> None:
        """One item, its tokens as SSE ``token`` events, then a ``result`` event. The result is
        authoritative: if the model starts to loop, the repeat is streamed before it is seen and
        cut from the result's summary."""
        if len(request.items) != 1:
            return self._send(400, {"error": "streaming takes exactly one item"})
        ep, item = self.endpoint, request.items[0]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        decode = ep.summarizer.model.tokenizer.decode

        def event(name: str, data: dict) -> None:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

        start = time.perf_counter()
        mode = item.grounding or request.parameters.grounding or ep.settings.grounding
        try:
            s = ep.summarizer(
                item.body,
                request.parameters.max_new_tokens,
                on_token=lambda t: event("token", {"text": decode([t])}),
                grounding=mode,
            )
        except NeedsEscalation as exc:  # checked above; kept for a clear message if budgets change
            return event("error", {"error": str(exc)})
        elapsed = (time.perf_counter() - start) * 1000
        result = summary_result(item.id, s, ep.version, "escalate", elapsed, None, mode)
        event("result", result.model_dump(mode="json"))


def make_server(settings: EndpointSettings) -> tuple[ThreadingHTTPServer, Endpoint]:
    endpoint = Endpoint(settings)
    handler = type("BoundHandler", (Handler,), {"endpoint": endpoint})
    server = ThreadingHTTPServer((settings.host, settings.port), handler)
    server.daemon_threads = True
    threading.Thread(target=endpoint.load, name="model-load", daemon=True).start()
    return server, endpoint


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="serve",
        description="Serve a newsburst bundle over the SageMaker container contract (GET /ping, POST /invocations) "
        "with dynamic batching. Settings come from NEWSBURST_GPU_* variables; flags override them.",
    )
    p.add_argument("--bundle", type=Path, help="bundle folder (default /opt/ml/model, as SageMaker mounts it)")
    p.add_argument("--host", help="listen address (default 0.0.0.0)")
    p.add_argument("--port", type=int, help="port (default 8080; 0 picks a free one and prints it)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {"bundle_dir": args.bundle, "host": args.host, "port": args.port}
    settings = EndpointSettings(**{k: v for k, v in overrides.items() if v is not None})
    server, _ = make_server(settings)
    host, port = server.server_address[:2]
    print(json.dumps({"listening": f"http://{host}:{port}"}), flush=True)  # tests and scripts read this line
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
