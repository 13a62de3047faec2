"""Warmer: a scheduled ping that loads the model if needed and answers at once.

Ops keep N containers warm by sending N concurrent pings (N schedule targets, or
provisioned concurrency where the cost is justified).
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.app import App
from functions.runtime import loaded_models


def handle(event: dict, context, app: App) -> dict:
    _, checkout = app.engine()
    app.metrics.add_metric("WarmerPing", MetricUnit.Count, 1)
    return {
        "warm": True,
        "cold": checkout.cold,
        "model_version": checkout.model.manifest.version,
        "load_seconds": round(checkout.model.load_seconds, 3) if checkout.cold else 0.0,
        "loaded_versions": loaded_models.loaded_versions(),
    }
