"""API Gateway HTTP API: ``POST /summaries`` answers with the SummaryResult, or 202 and a
``Location`` when it cannot finish within the integration limit; ``GET /summaries/{key}`` polls."""

from __future__ import annotations

import base64
import binascii
import json
import re

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from functions.app import App
from functions.parsing import BadInput, parse_item
from functions.pipeline import ItemFailure

RETRY_AFTER_S = 5
_KEY = re.compile(r"[0-9a-f]{64}")


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body), headers or {})


def _raw_body(event: dict) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error:
            raise BadInput("body is not valid base64", 400) from None
    return body.encode("utf-8", "surrogatepass")


def build_resolver(app: App) -> APIGatewayHttpResolver:
    api = APIGatewayHttpResolver()

    @api.post("/summaries")
    def create_summary() -> Response:
        try:
            item = parse_item(_raw_body(api.current_event.raw_event))
        except BadInput as exc:
            return _json(exc.status, {"error": exc.reason})
        deadline = app.deadline_of(api.lambda_context).at_most(app.settings.api_sync_budget_s)
        (outcome,) = app.pipeline.run([item], deadline)
        if isinstance(outcome, ItemFailure) and outcome.late:  # finished later, by the queue's trigger
            app.handoff.put(item)
            location = f"/summaries/{app.pipeline.key_for(item)}"
            return _json(202, {"id": item.id, "location": location}, {"Location": location})
        if isinstance(outcome, ItemFailure):
            if outcome.retryable:
                return _json(503, {"error": outcome.reason}, {"Retry-After": str(RETRY_AFTER_S)})
            return _json(502, {"error": outcome.reason})
        return _json(200, outcome.model_dump(mode="json"))

    @api.get("/summaries/<key>")
    def get_summary(key: str) -> Response:
        if not _KEY.fullmatch(key):
            return _json(400, {"error": "a summary key is 64 hex digits"})
        result = app.pipeline.lookup(key)
        if result is None:
            return _json(404, {"error": "no summary under this key yet"}, {"Retry-After": str(RETRY_AFTER_S)})
        return _json(200, result.model_dump(mode="json"))

    return api


def handle(event: dict, context, app: App) -> dict:
    return build_resolver(app).resolve(event, context)
