"""The cache key: everything that decides the summary, hashed.

A new bundle, tokenizer, prompt template, generation setting or grounding rule changes the key, so a cached
summary is never served for an input the current deployment would answer differently.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import asdict, dataclass

from functions.runtime.faithfulness.checker import revision as check_revision
from functions.runtime.grounding import DEFAULT_GROUNDING, RULES_REVISION
from functions.runtime.prompt import DEFAULT_FORMAT


@dataclass(frozen=True)
class ModelFingerprint:
    model_version: str
    tokenizer_sha256: str
    prompt_template_version: str
    generation: tuple[tuple[str, object], ...]  # sorted (name, value) pairs
    confidence_threshold: float | None = None  # the cascade's: it decides which summaries the teacher writes
    escalation_model: str | None = None  # who writes escalated summaries: the endpoint and its model version


def normalize_text(text: str) -> str:
    """NFC and collapsed whitespace: feeds that re-wrap or re-encode a story hit the same entry."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def cache_key(
    fingerprint: ModelFingerprint,
    article: str,
    grounding: str = DEFAULT_GROUNDING,
    flagged_policy: str = "deliver",
    fmt: str = DEFAULT_FORMAT,
) -> str:
    """``flagged_policy`` is part of the key: under ``escalate`` the teacher may write what
    ``deliver`` would answer with the student's summary; so is the format asked for."""
    payload = json.dumps(
        {
            **asdict(fingerprint),
            "grounding": grounding,
            "grounding_rules": RULES_REVISION,
            "faithfulness_check": check_revision(),
            "policy": flagged_policy,
            "format": fmt,
            "article": normalize_text(article),
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def stand_in_key(key: str) -> str:
    """Where a key's last stand-in answer (a lead fallback) is kept for ``GET /summaries/{key}``:
    beside the cache entry, never read as one (a stand-in is not the model's answer)."""
    return f"{key}-stand-in"
