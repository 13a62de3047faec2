"""EventBridge: a ``NewsItemPublished`` custom event whose detail is the news item."""

from __future__ import annotations

import json

from functions.app import App
from functions.handlers.settle import dead_letter, settle
from functions.parsing import BadInput, parse_item

DETAIL_TYPE = "NewsItemPublished"


def handle(event: dict, context, app: App) -> dict:
    deadline = app.deadline_of(context)
    detail = event.get("detail")
    try:
        item = parse_item(detail)
    except BadInput as exc:
        item_id = detail.get("id") if isinstance(detail, dict) else None
        return {"items": [dead_letter(app, "eventbridge", exc.reason, item_id, json.dumps(event, ensure_ascii=False))]}
    outcomes = app.pipeline.run([item], deadline)
    return {"items": settle(app, "eventbridge", outcomes, [item], {item.id: json.dumps(event, ensure_ascii=False)})}
