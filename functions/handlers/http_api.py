"""API Gateway HTTP API: synchronous ``POST /summaries`` answering with the SummaryResult."""

from __future__ import annotations

import base64
import binascii
import json

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from functions.app import App
from functions.deadline import Deadline
from functions.parsing import BadInput, parse_item
from functions.pipeline import ItemFailure

RETRY_AFTER_S = 5


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
        deadline = Deadline.of(api.lambda_context, app.settings.deadline_margin_s)
        (outcome,) = app.pipeline.run([item], deadline)
        if isinstance(outcome, ItemFailure):
            if outcome.retryable:
                return _json(503, {"error": outcome.reason}, {"Retry-After": str(RETRY_AFTER_S)})
            return _json(502, {"error": outcome.reason})
        return _json(200, outcome.model_dump(mode="json"))

    return api


def handle(event: dict, context, app: App) -> dict:
    return build_resolver(app).resolve(event, context)
