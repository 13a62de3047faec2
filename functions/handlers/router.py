"""The deployed Lambda entry point: one function for every trigger, routed by event shape.

One function (rather than one per trigger) shares a single warm pool: a container warmed by
the schedule serves S3, SQS, EventBridge and API traffic alike.
"""

from __future__ import annotations

from collections.abc import Callable

from functions.app import App
from functions.handlers import INIT_SETTINGS, desk, eventbridge, http_api, s3_ingest, sqs_batch, warmer
from functions.runtime import snapstart

Handler = Callable[[dict, object, App], dict]


class UnknownEvent(ValueError):
    pass


def handler_for(event: object) -> tuple[str, Handler]:
    """The handler for an event, by the shape AWS gives each trigger."""
    if not isinstance(event, dict):
        raise UnknownEvent(f"an event must be a JSON object, not {type(event).__name__}")
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        source = records[0].get("eventSource")
        if source == "aws:s3":
            return "s3", s3_ingest.handle
        if source == "aws:sqs":
            return "sqs", sqs_batch.handle
    detail_type = event.get("detail-type")
    if detail_type == eventbridge.DETAIL_TYPE:
        return "eventbridge", eventbridge.handle
    if detail_type == "Scheduled Event":
        return "warmer", warmer.handle
    if isinstance(event.get("requestContext"), dict) and "http" in event["requestContext"]:
        if str(event.get("rawPath", "")).startswith("/desk"):
            return "desk", desk.handle
        return "http", http_api.handle
    raise UnknownEvent(f"unknown event shape (top-level keys: {', '.join(sorted(event)[:8]) or 'none'})")


_APP: App | None = None


def app() -> App:
    global _APP
    if _APP is None:
        _APP = App.from_settings(INIT_SETTINGS)
    return _APP


def use(new_app: App) -> None:
    """Swap the container's wiring (tests, ``newsburst invoke --bundle``)."""
    global _APP
    _APP = new_app


def handler(event: dict, context) -> dict:
    current = app()
    kind, handle = handler_for(event)

    @current.logger.inject_lambda_context(clear_state=True)
    @current.tracer.capture_lambda_handler(capture_response=False)  # responses hold summaries
    @current.metrics.log_metrics(capture_cold_start_metric=True)
    def run(event: dict, context) -> dict:
        current.logger.append_keys(trigger=kind)
        return handle(event, context, current)

    return run(event, context)


# Lambda init phase: load the model at import when asked (NEWSBURST_PRELOAD), and register
# SnapStart's hooks where the runtime provides them.
if app().settings.preload:
    app().engine()
snapstart.register(lambda: app().engine()[0])  # one path to the bundle: folder or S3 URI
