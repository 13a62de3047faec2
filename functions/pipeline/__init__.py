"""The summarize pipeline in parts (flow.py reads as the one-way flow): claims.py (the response
cache's protocol), story_steps.py (breaking stories), route.py (the flagged policy),
model_step.py (local model, cascade, GPU endpoint), fallback.py, delivery.py (notification)."""

from functions.pipeline.flow import Pipeline
from functions.pipeline.outcome import ItemFailure, Outcome

__all__ = ["ItemFailure", "Outcome", "Pipeline"]
