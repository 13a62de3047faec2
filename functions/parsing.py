"""Raw input -> NewsItem, or one clear reason with the HTTP status that fits it.

Reasons name the field and the rule, never the offending value: values are article text.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from functions.schemas import MAX_REQUEST_BYTES, NewsItem, describe


class BadInput(ValueError):
    def __init__(self, reason: str, status: int):
        super().__init__(reason)
        self.reason, self.status = reason, status  # 400 malformed, 413 too large, 422 invalid


def parse_item(raw: object) -> NewsItem:
    """Whatever arrives (bytes, text, a decoded object or worse) becomes a NewsItem or a BadInput."""
    if isinstance(raw, bytes | bytearray):
        if len(raw) > MAX_REQUEST_BYTES:
            raise BadInput(f"item is {len(raw)} bytes; the limit is {MAX_REQUEST_BYTES}", 413)
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"item is not UTF-8 (byte {exc.start})", 400) from None
    if isinstance(raw, str):
        if len(raw.encode("utf-8")) > MAX_REQUEST_BYTES:
            raise BadInput(f"item is over {MAX_REQUEST_BYTES} bytes", 413)
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BadInput(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", 400) from None
        except RecursionError:
            raise BadInput("malformed JSON: nested too deeply", 400) from None
        except ValueError:  # e.g. an integer past Python's 4,300-digit conversion limit
            raise BadInput("malformed JSON: a number is too large to read", 400) from None
    if not isinstance(raw, dict):
        raise BadInput(f"a news item must be a JSON object, not {type(raw).__name__}", 422)
    try:
        return NewsItem.model_validate(raw)
    except RecursionError:
        raise BadInput("item is nested too deeply", 400) from None
    except ValidationError as exc:
        too_long = any(e["type"] == "string_too_long" and e["loc"] == ("body",) for e in exc.errors())
        raise BadInput(describe(exc), 413 if too_long else 422) from None
