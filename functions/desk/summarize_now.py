"""The desk's "summarize now": a pasted article summarized while the editor watches, token by
token from the KV loop's ``on_token`` locally, or from the GPU endpoint's SSE stream when the
article is over the local budget; the result is recorded in the desk's feed like a delivered one."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from threading import Lock

from functions.app import App
from functions.runtime.cascade import OVER_BUDGET
from functions.schemas import EndpointRequest, NewsItem, SummaryReady, SummaryResult
from functions.summary_result import summary_result

Emit = Callable[[str, dict], None]  # (SSE event, its data)


class SummarizeNow:
    def __init__(self, app: App):
        self.app = app
        self.generating = Lock()  # one local generation at a time: the desk shares the container's model

    def item_of(self, posted: dict) -> NewsItem:
        body = posted.get("body") if isinstance(posted.get("body"), str) else ""
        digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return NewsItem.model_validate({"title": "", **posted, "id": f"desk-{digest}"})

    def finish(self, item: NewsItem, result: SummaryResult, emit: Emit) -> None:
        ready = SummaryReady.of(item, result)
        key = self.app.desk_feed.record(item, ready)
        emit("result", {"key": key, **ready.model_dump(mode="json")})

    def summarize(self, item: NewsItem, emit: Emit) -> None:
        """The item summarized here, token by token; over the local budget, by the GPU endpoint's stream."""
        start = time.perf_counter()
        summarizer, checkout = self.app.engine()
        item = item.settled(self.app.settings)
        fmt, mode = item.format, item.grounding
        _, decision = summarizer.decide(item.body, fmt=fmt)
        if decision.route == "escalate":
            return self.escalate(item, start, emit)
        decode, ids, shown = summarizer.model.tokenizer.decode, [], ""

        def on_token(token: int) -> None:
            nonlocal shown
            ids.append(token)
            text = decode(ids)
            if len(text) > len(shown) and not text.endswith("\ufffd"):  # not half a UTF-8 character
                emit("token", {"text": text[len(shown) :]})
                shown = text

        with self.generating:
            summary = summarizer(item.body, on_token=on_token, grounding=mode, fmt=fmt)
        ms = (time.perf_counter() - start) * 1000
        load_s = checkout.model.load_seconds if checkout.cold else None
        version = summarizer.model.manifest.version
        self.finish(item, summary_result(item.id, summary, version, "local", ms, load_s, mode, fmt), emit)

    def escalate(self, item: NewsItem, start: float, emit: Emit) -> None:
        transport = getattr(self.app.escalator, "transport", None)
        if not hasattr(transport, "stream"):
            raise ValueError("the article is over the local model's budget and no streaming GPU endpoint is set")
        payload = EndpointRequest(items=[item]).model_dump(mode="json", exclude_none=True)
        for event, data in transport.stream(payload, self.app.settings.endpoint_timeout_s):
            if event == "token":
                emit("token", {"text": json.loads(data)["text"]})
            elif event == "result":
                result = SummaryResult.model_validate_json(data)
                ms = round((time.perf_counter() - start) * 1000, 2)
                update = {"route": "escalate", "escalated": True, "escalation_reason": OVER_BUDGET}
                result = result.model_copy(
                    update=update | {"timings": result.timings.model_copy(update={"total_ms": ms})}
                )
                return self.finish(item, result, emit)
            elif event == "error":
                emit("error", json.loads(data))
                return
