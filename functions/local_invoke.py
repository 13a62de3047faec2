"""Running the Lambda entry point in-process, as ``newsburst invoke`` and ``newsburst demo`` do."""

from __future__ import annotations

import contextlib
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from functions.config import Settings


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str = "newsburst-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 3008
    timeout_s: float = 900.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/newsburst-local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))


def sqs_event(bodies: list[str]) -> dict:
    """An SQS trigger's event carrying ``bodies`` as its records (the shape AWS sends)."""
    return {
        "Records": [
            {
                "messageId": f"msg-{i}-{uuid.uuid4().hex[:8]}",
                "receiptHandle": f"handle-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1008139860000"},
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:newsburst-items",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def eventbridge_event(detail: object) -> dict:
    """A ``NewsItemPublished`` EventBridge event whose detail is ``detail``."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "NewsItemPublished",
        "source": "com.example.newsroom",
        "account": "123456789012",
        "time": "2001-12-18T09:00:30Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def read_event(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a UTF-8 JSON event ({exc})") from None


def invoke(event: dict, settings: Settings) -> tuple[str, dict]:
    """(trigger kind, the handler's return value). Anything the handler prints goes to stderr,
    so the caller's stdout carries only what it chooses to print."""
    with contextlib.redirect_stdout(sys.stderr):
        from functions.app import App
        from functions.handlers import router

        router.use(App.from_settings(settings))
        kind, _ = router.handler_for(event)
        return kind, router.handler(event, LocalContext())
