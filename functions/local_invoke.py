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
        kind, _ = router.route(event)
        return kind, router.handler(event, LocalContext())
