"""The GPU endpoint's HTTP server: SageMaker's container contract on port 8080.

``GET /ping`` answers 200 only once the model is loaded; ``POST /invocations`` takes an
EndpointRequest and answers an EndpointResponse (or, with ``Accept: text/event-stream``, one
item's tokens as server-sent events). HTTP parsing, limits, keep-alive timeouts and SSE are
uvicorn's, Starlette's and sse-starlette's; JSON and streaming requests alike go through the
batcher's bounded queue and deadline (``batcher.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import socket
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import onnxruntime as ort
import uvicorn
from pydantic import ValidationError
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from functions.config import EndpointSettings
from functions.endpoint.batcher import DeadlineExceeded, DynamicBatcher, OnToken, Overloaded
from functions.endpoint.header_deadline import with_header_timeout
from functions.runtime.deadline import Deadline
from functions.runtime.escalation_rule import RouteDecision
from functions.runtime.model import LocalModel, load_model
from functions.runtime.snapstart import WARMUP_ARTICLE
from functions.runtime.summarize import Summarizer
from functions.schemas import (
    MAX_REQUEST_BYTES,
    SECRET_HEADER,
    EndpointRequest,
    EndpointResponse,
    GenerationParameters,
    NewsItem,
    describe,
)
from functions.summary_result import summary_result

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

    def _run_batch(self, items: list[NewsItem], params: GenerationParameters, on_token: OnToken | None) -> list:
        start = time.perf_counter()
        items = [i.settled(params, self.settings) for i in items]
        modes, formats = [i.grounding for i in items], [i.format for i in items]
        if on_token is not None:  # a streaming request is a batch of one
            one = self.summarizer(
                items[0].body, params.max_new_tokens, on_token=on_token, grounding=modes[0], fmt=formats[0]
            )
            done = [one]
        else:
            bodies = [i.body for i in items]
            done = self.summarizer.batch(bodies, max_new_tokens=params.max_new_tokens, grounding=modes, fmt=formats)
        elapsed = (time.perf_counter() - start) * 1000
        return [
            d
            if isinstance(d, RouteDecision)
            else summary_result(i.id, d, self.version, "escalate", elapsed, None, m, f)
            for i, d, m, f in zip(items, done, modes, formats, strict=True)
        ]

    def over_budget(self, request: EndpointRequest) -> str | None:
        for item in request.items:
            fmt = item.settled(request.parameters, self.settings).format
            _, decision = self.summarizer.decide(item.body, request.parameters.max_new_tokens, fmt)
            if decision.route == "escalate":
                return f"item {item.id}: {decision.needed} tokens exceed this model's {decision.budget}"
        return None


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status, headers)


async def _body(request: Request) -> bytes | None:
    """The body, read no further than MAX_BODY whatever Content-Length claims (None: too large)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def build_app(endpoint: Endpoint) -> Starlette:
    settings = endpoint.settings
    # with auth on, an empty secret matches no request (NEWSBURST_GPU_SECRET="" used to turn it off)
    secret = (
        None if settings.auth == "none" else (settings.secret.get_secret_value() if settings.secret else "").encode()
    )

    async def ping(request: Request) -> Response:
        if endpoint.summarizer is None:
            status = "failed" if endpoint.error else "loading"
            return JSONResponse({"status": status, "error": endpoint.error}, 503)
        b = endpoint.batcher
        return JSONResponse(
            {
                "status": "ok",
                "model_version": endpoint.version,
                "provider": endpoint.provider,
                "batches": b.batches,
                "largest_batch": b.largest_batch,
            }
        )

    async def invocations(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if secret is not None and not (secret.strip() and hmac.compare_digest(given, secret)):
            return _error(401, f"missing or wrong {SECRET_HEADER} header", {"Connection": "close"})
        if endpoint.summarizer is None:
            return _error(503, "model not loaded yet", {"Retry-After": "5"})
        try:
            raw = await asyncio.wait_for(_body(request), settings.body_timeout_s)
        except ClientDisconnect:
            return Response(status_code=400)
        except TimeoutError:  # declared but not sent: the connection would hold a slot for ever
            return _error(408, f"request body not received within {settings.body_timeout_s} s", {"Connection": "close"})
        if raw is None:
            return _error(413, f"request is over {MAX_BODY} bytes", {"Connection": "close"})
        try:
            req = EndpointRequest.model_validate_json(raw)
        except ValidationError as exc:
            return _error(400, describe(exc))
        if reason := await run_in_threadpool(endpoint.over_budget, req):  # tokenizing: off the event loop
            return _error(413, reason)
        if "text/event-stream" in request.headers.get("accept", ""):
            return _stream(req)
        deadline = Deadline.after(settings.deadline_s)
        try:
            future = endpoint.batcher.submit(req.items, req.parameters, deadline)
        except Overloaded as exc:
            return _error(429, f"overloaded: {exc}", {"Retry-After": "1"})
        try:
            results, batch_size = await asyncio.wait_for(asyncio.wrap_future(future), deadline.remaining())
        except (TimeoutError, DeadlineExceeded):
            return _error(504, f"no answer within {settings.deadline_s} s")
        except Exception as exc:
            log.exception("generation failed")
            return _error(500, f"generation failed: {type(exc).__name__}")
        return JSONResponse(EndpointResponse(results=results, batch_size=batch_size).model_dump(mode="json"))

    def _stream(req: EndpointRequest) -> Response:
        """One item, its tokens as SSE ``token`` events, then a ``result`` event. The result is
        authoritative: if the model starts to loop, the repeat is streamed before it is seen and
        cut from the result's summary."""
        if len(req.items) != 1:
            return _error(400, "streaming takes exactly one item")
        loop, tokens = asyncio.get_running_loop(), asyncio.Queue()
        decode = endpoint.summarizer.model.tokenizer.decode
        deadline = Deadline.after(settings.deadline_s)
        try:  # the same queue bound and deadline as JSON requests
            future: Future = endpoint.batcher.submit(
                req.items,
                req.parameters,
                deadline,
                lambda t: loop.call_soon_threadsafe(tokens.put_nowait, t),
            )
        except Overloaded as exc:
            return _error(429, f"overloaded: {exc}", {"Retry-After": "1"})
        done = asyncio.wrap_future(future)

        async def events():
            while not (done.done() and tokens.empty()):
                getter = asyncio.ensure_future(tokens.get())
                finished, _ = await asyncio.wait(
                    {getter, done}, timeout=deadline.remaining(), return_when=asyncio.FIRST_COMPLETED
                )
                if getter in finished:
                    yield {"event": "token", "data": json.dumps({"text": decode([getter.result()])})}
                else:
                    getter.cancel()
                if not finished:
                    yield {"event": "error", "data": json.dumps({"error": f"no answer within {settings.deadline_s} s"})}
                    return
            try:
                (result,), _ = done.result()
            except Exception as exc:
                yield {"event": "error", "data": json.dumps({"error": f"generation failed: {type(exc).__name__}"})}
                return
            yield {"event": "result", "data": result.model_dump_json()}

        return EventSourceResponse(events(), sep="\n", headers={"Cache-Control": "no-cache"})

    return Starlette(
        routes=[Route("/ping", ping, methods=["GET"]), Route("/invocations", invocations, methods=["POST"])]
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="serve",
        description="Serve a newsburst bundle over the SageMaker container contract (GET /ping, POST /invocations) "
        "with dynamic batching. Settings come from NEWSBURST_GPU_* variables; flags override them. Refuses to "
        "start without NEWSBURST_GPU_SECRET unless NEWSBURST_GPU_AUTH=none (SageMaker, where IAM guards the "
        "endpoint).",
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
    if settings.auth != "none" and not (settings.secret and settings.secret.get_secret_value().strip()):
        print(
            "serve: error: NEWSBURST_GPU_SECRET is unset or empty; set one, or NEWSBURST_GPU_AUTH=none where something "
            "else (SageMaker's IAM) guards the endpoint",
            flush=True,
        )
        return 2
    endpoint = Endpoint(settings)
    threading.Thread(target=endpoint.load, name="model-load", daemon=True).start()
    sock = socket.create_server((settings.host, settings.port))  # bound before we say where we listen
    host, port = sock.getsockname()[:2]
    print(json.dumps({"listening": f"http://{host}:{port}"}), flush=True)  # tests and scripts read this line
    config = uvicorn.Config(
        build_app(endpoint),
        log_level="warning",
        access_log=False,
        timeout_keep_alive=5,  # idle connections between requests do not linger ...
        http=with_header_timeout(settings.header_timeout_s),  # ... nor ones that never send a whole head
        limit_concurrency=settings.max_connections,  # beyond this uvicorn answers 503 before any work
        h11_max_incomplete_event_size=16 * 1024,  # header flood
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
