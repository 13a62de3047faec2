"""Lambda SnapStart hooks (Python 3.12+): warm the model before the snapshot, refresh after restore.

``snapshot_restore_py`` exists only inside the Lambda runtime; elsewhere the hooks are plain
functions (tests call them directly) and nothing is registered.
"""

from __future__ import annotations

import importlib.util
import random
import secrets
from collections.abc import Callable

import numpy as np

from functions.runtime.kv_generate import Generation
from functions.runtime.summarize import Summarizer

LoadModel = Callable[[], Summarizer]  # the container's own way to its pooled model (bundle folder or S3 URI)

WARMUP_ARTICLE = "The council met on Monday and approved the new budget for the city's parks."


def before_snapshot(engine: LoadModel) -> Generation:
    """Load the pooled model through the same path the handler uses (so a bundle URI is fetched
    first) and run one short generation so the snapshot holds warm kernels."""
    return engine()(WARMUP_ARTICLE, max_new_tokens=4).generation


def after_restore() -> None:
    """Every restored clone shares the snapshot's RNG state: re-seed so samples differ per clone."""
    seed = secrets.randbits(64)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def register(engine: LoadModel) -> bool:
    """Register both hooks when running under SnapStart; returns whether it did."""
    if importlib.util.find_spec("snapshot_restore_py") is None:
        return False
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    register_before_snapshot(lambda: before_snapshot(engine))
    register_after_restore(after_restore)
    return True
