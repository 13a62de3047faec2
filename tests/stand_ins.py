"""Loopback servers that stand in for the GPU endpoint or S3 and misbehave on purpose (the
servers themselves: ops/fault_servers.py, shared with the chaos bench)."""

from __future__ import annotations

import json

from ops.fault_servers import Request, stand_in

__all__ = ["Request", "stand_in"]


def misbehaving(status: int = 500, delay_s: float = 0.0):
    """An endpoint answering every call with ``status`` and an empty JSON object after ``delay_s``."""
    return stand_in(lambda r: (status, "application/json", b"{}"), lambda r: delay_s)


def answering(status: int, body: bytes):
    """An endpoint answering every call with ``status`` and ``body`` (HTML, wrong JSON ...)."""
    return stand_in(lambda r: (status, "text/html", body))


def teacher(delay_first_s: float = 0.0):
    """An endpoint writing a valid summary for every item it is sent; the first call may be slow."""
    requests_seen: list[Request] = []

    def answer(r: Request) -> tuple[int, str, bytes]:
        items = r.json()["items"]
        results = [
            {"id": i["id"], "summary": "The teacher wrote this.", "model_version": "t", "route": "escalate"}
            for i in items
        ]
        return 200, "application/json", json.dumps({"results": results, "batch_size": len(results)}).encode()

    def delay(r: Request) -> float:
        requests_seen.append(r)
        return delay_first_s if len(requests_seen) == 1 else 0.0

    return stand_in(answer, delay)


def s3_error(status: int, code: str, delay_s: float = 0.0):
    """An S3-compatible address answering every call with an S3 error after ``delay_s``."""
    body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
    return stand_in(lambda r: (status, "application/xml", body), lambda r: delay_s)


class LeadSummarizer:
    """The container's real summarizer with one change: its summary is the article's first
    sentences (what lead-3 writes). The pipeline around it (cache, stories, guard, notification)
    is the real one; only what the model would say becomes predictable, so a test can change one
    number in an article and know which summary states it."""

    def __init__(self, real, sentences: int = 2):
        self.real, self.sentences = real, sentences

    def __getattr__(self, name):
        return getattr(self.real, name)

    def _summary(self, article: str):
        from functions.runtime.extractive import lead
        from functions.runtime.guard import check
        from functions.runtime.kv_generate import Generation
        from functions.runtime.summarize import Summary

        ids, decision = self.real.decide(article)
        text = lead(article, self.sentences)
        return Summary(
            text, Generation([1] * len(text.split()), len(ids), 0.01, 0.02, "eos"), check(text, article), decision
        )

    def batch(self, articles, **_) -> list:
        return [self._summary(a) for a in articles]

    def __call__(self, article, **_):
        return self._summary(article)


def lead_engine(app):
    """``app``'s engine with the LeadSummarizer in place of the model's text."""
    real = app.engine

    def engine():
        summarizer, checkout = real()
        return LeadSummarizer(summarizer), checkout

    return engine
