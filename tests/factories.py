"""Builders for news items and the Lambda events that carry them (shapes as AWS sends them)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"


def news_item(name: str = "lee-170", **changes) -> dict:
    return {**json.loads((EVENTS / "news" / f"{name}.json").read_text()), **changes}


def long_item(**changes) -> dict:
    """A real-length article over the student's local token budget (~1,300 prompt tokens)."""
    return news_item("sample-long-001", **changes)


def s3_event(bucket: str, key: str, size: int = 1000) -> dict:
    template = json.loads((EVENTS / "s3-object-created.json").read_text())
    record = template["Records"][0]
    record["s3"]["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
    record["s3"]["object"].update(key=key, size=size)
    return template


def http_event(body: str | bytes, path: str = "/summaries", method: str = "POST") -> dict:
    event = json.loads((EVENTS / "http-post-summaries.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = f"{method} {path}"
    if isinstance(body, bytes):
        event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    else:
        event.update(body=body, isBase64Encoded=False)
    return event
