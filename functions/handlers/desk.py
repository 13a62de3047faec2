"""The editors' desk behind the HTTP API: the same Starlette app ``newsburst desk`` serves,
adapted to API Gateway's events by Mangum. API Gateway answers each request whole, so the page
polls instead of streaming (``streaming=False``)."""

from __future__ import annotations

from functions.app import App

_ADAPTER: tuple[App, object] | None = None  # (the app it was built for, its Mangum adapter)


def handle(event: dict, context, app: App) -> dict:
    global _ADAPTER
    if _ADAPTER is None or _ADAPTER[0] is not app:
        from mangum import Mangum

        from functions.desk.web import build_desk

        _ADAPTER = (app, Mangum(build_desk(app, streaming=False), lifespan="off"))
    return _ADAPTER[1](event, context)
