"""The desk's routes, one Starlette app for both places it runs: ``newsburst desk`` serves it
with uvicorn on loopback, and the deployed function serves the same app behind the HTTP API
through Mangum (``functions/handlers/desk.py``). Mangum rather than Powertools' resolver driven
locally: the desk streams (stories as they arrive, a summary as it is written), which a
request-in, response-out resolver cannot, and an ASGI app runs unchanged under both servers.

Where the server can hold a stream (uvicorn) the page listens on ``/desk/api/stream``; behind
API Gateway, which answers each request whole, ``streaming`` is off and the page polls
``/desk/api/stories?since=``. A streamed summary there still arrives, as one answer.

Untrusted text: articles and summaries are data. The page renders them as text; every answer
carries a Content-Security-Policy that allows only the desk's own script, so even a page bug
could not run an article's ``<script>``. State-changing requests must be JSON from the desk's own
origin (a cross-site form or fetch is refused) and are bounded in size. In AWS the HTTP API's
authorizer (IAM or JWT) guards ``/desk/api/*`` like ``/summaries``; the page shell is public
and holds no data.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from pydantic import ValidationError
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from functions.app import App
from functions.desk.summarize_now import Emit, SummarizeNow
from functions.desk_records.verdicts import MAX_VERDICT_BYTES, REASONS, VerdictIn, judge
from functions.runtime.prompt import FORMATS
from functions.schemas import (
    MAX_REQUEST_BYTES,
    describe,
)

STATIC = Path(__file__).parent / "static"
POLL_S = 0.5  # how often the story stream looks for new stories
STREAM_TIMEOUT_S = 120.0  # a summarize-now stream ends with an error past this
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
VERDICT_METRICS = {"approve": "EditorApproved", "reject": "EditorRejected", "edit": "EditorEdited"}


T = TypeVar("T")


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status, headers=SECURITY_HEADERS)


def _ok(body: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status, headers=SECURITY_HEADERS)


async def _posted(request: Request, limit: int, parse: Callable[[dict], T]) -> T:
    """The JSON body of a same-origin POST, at most ``limit`` bytes, as ``parse`` reads it."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise Refused(415, "send application/json")
    origin, host = request.headers.get("origin"), request.headers.get("host", "")
    if origin is not None and urlsplit(origin).netloc != host:
        raise Refused(403, "cross-site request refused")
    if request.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
        raise Refused(403, "cross-site request refused")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Refused(413, f"body over {limit} bytes")
    try:
        value = json.loads(body)
    except ValueError:
        raise Refused(400, "body is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, "body must be a JSON object")
    try:
        return parse(value)
    except ValidationError as exc:
        raise Refused(400, describe(exc)) from None


async def _events(produce: Callable[[Emit], None]) -> AsyncIterator[dict]:
    """Run ``produce`` on a worker thread and yield what it emits as SSE events, as it emits them."""
    loop, queue = asyncio.get_running_loop(), asyncio.Queue()

    def emit(event: str, data: dict) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (event, data))

    def run() -> None:
        try:
            produce(emit)
        except Exception as exc:  # the page shows it; the log has the rest
            emit("error", {"error": f"summarizing failed: {type(exc).__name__}: {str(exc)[:200]}"})
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    worker = loop.run_in_executor(None, run)
    until = loop.time() + STREAM_TIMEOUT_S
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), max(0.0, until - loop.time()))
        except TimeoutError:
            yield {"event": "error", "data": json.dumps({"error": f"no answer within {STREAM_TIMEOUT_S:.0f} s"})}
            return
        if item is None:
            break
        event, data = item
        yield {"event": event, "data": json.dumps(data)}
    await worker


class Desk:
    """The desk's behaviour over one App: its verdicts counted, and "summarize now"."""

    def __init__(self, app: App, streaming: bool):
        self.app, self.streaming = app, streaming
        self.now = SummarizeNow(app)

    def count(self, verdict: str, reason: str | None) -> None:
        """EditorApproved / EditorRejected / EditorEdited, flushed now: the quality SLI the alarms
        read (by service); a rejection is counted again by its reason, for the dashboard."""
        s = self.app.settings
        for extra in [{}, *([{"reason": reason}] if reason else [])]:
            dimensions = {"service": s.service_name, **extra}
            with single_metric(
                VERDICT_METRICS[verdict],
                MetricUnit.Count,
                1,
                namespace=s.metrics_namespace,
                default_dimensions=dimensions,
            ):
                pass


def build_desk(app: App, streaming: bool = True) -> Starlette:
    desk = Desk(app, streaming)

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)

    async def config(request: Request) -> Response:
        formats = {"formats": list(FORMATS), "format": app.settings.format}  # the deployment's default first
        return _ok({"streaming": streaming, "reasons": list(REASONS)} | formats)

    async def stories(request: Request) -> Response:
        since = request.query_params.get("since") or None
        found, cursor = await run_in_threadpool(app.desk_feed.since, since)
        if since is None:  # the first load also says how each story was judged
            latest = await run_in_threadpool(app.verdicts.latest)
            for story in found:
                if (verdict := latest.get(story["key"])) is not None:
                    story["verdict"] = verdict.model_dump(mode="json")
        return _ok({"stories": found, "cursor": cursor})

    async def stream(request: Request) -> Response:
        if not streaming:
            return _error(404, "this server cannot hold a stream: poll /desk/api/stories?since=")
        cursor = request.query_params.get("since") or None

        async def events():
            nonlocal cursor
            while True:
                found, cursor = await run_in_threadpool(app.desk_feed.since, cursor)
                for story in found:
                    yield {"event": "story", "id": story["key"], "data": json.dumps(story)}
                await asyncio.sleep(POLL_S)

        return EventSourceResponse(events(), headers=SECURITY_HEADERS, ping=15)

    async def summarize(request: Request) -> Response:
        try:
            item = await _posted(request, MAX_REQUEST_BYTES, desk.now.item_of)
        except Refused as exc:
            return _error(exc.status, exc.reason)
        return EventSourceResponse(_events(lambda emit: desk.now.summarize(item, emit)), headers=SECURITY_HEADERS)

    async def post_verdict(request: Request) -> Response:
        try:
            posted = await _posted(request, MAX_VERDICT_BYTES, VerdictIn.model_validate)
        except Refused as exc:
            return _error(exc.status, exc.reason)
        verdict = await run_in_threadpool(judge, app.desk_feed, app.verdicts, posted)
        if verdict is None:
            return _error(404, "no such story")
        desk.count(verdict.verdict, verdict.reason)
        app.logger.info("editor verdict", extra={"item_id": verdict.id, "verdict": verdict.verdict})
        return _ok(verdict.model_dump(mode="json"), 201)

    async def get_verdicts(request: Request) -> Response:
        latest = await run_in_threadpool(app.verdicts.latest)
        return _ok({"verdicts": [v.model_dump(mode="json") for v in latest.values()]})

    return Starlette(
        routes=[
            Route("/desk", page, methods=["GET"]),
            Route("/desk/", page, methods=["GET"]),
            Mount("/desk/static", StaticFiles(directory=STATIC), name="static"),
            Route("/desk/api/config", config, methods=["GET"]),
            Route("/desk/api/stories", stories, methods=["GET"]),
            Route("/desk/api/stream", stream, methods=["GET"]),
            Route("/desk/api/summarize", summarize, methods=["POST"]),
            Route("/desk/api/verdicts", post_verdict, methods=["POST"]),
            Route("/desk/api/verdicts", get_verdicts, methods=["GET"]),
        ]
    )
