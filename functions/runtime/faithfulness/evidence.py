"""The model's own evidence for a summary: each token's log-probability given the article the model
reads, against the same without the article (pointwise mutual information, van der Poel et al. 2022).
A clause the model would write as readily without reading the article is suspect.

Both passes are teacher-forced prefills that score every summary token at once (the graph's
``logits_positions`` input, model_export/last_position_head.py). When the summary is the model's own
output, the pass with the article is the generation's, whose log-probabilities the KV loop already
kept (``given``), so the check adds one short prefill: the template, no article, the summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from functions.runtime.bundle import LOGITS_POSITIONS
from functions.runtime.model import LocalModel
from functions.runtime.prompt import Format

NO_ARTICLE = ""  # the template rendered around an empty article block
# A short head scores only its news tokens and the prompt's (model_export/short_head.py): a summary
# re-encoded into a token outside them is -inf in both passes; it counts as this unlikely instead.
LOGPROB_FLOOR = -20.0


@dataclass(frozen=True)
class TokenEvidence:
    """Per summary token: where it is in the summary (characters) and its two log-probabilities."""

    spans: list[tuple[int, int]]
    with_article: np.ndarray
    without_article: np.ndarray

    @property
    def pmi(self) -> np.ndarray:
        return self.with_article - self.without_article

    def within(self, start: int, end: int) -> np.ndarray:
        """Indices of the tokens inside the summary's characters [start, end)."""
        return np.asarray([i for i, (a, b) in enumerate(self.spans) if a < end and b > start], np.int64)


def scorable(model: LocalModel) -> bool:
    """Whether this bundle's graph scores several positions in one pass (bundles before the
    faithfulness check's export do not; their summaries are judged on the lexical signals)."""
    session = model.session  # an input with a default is listed among the overridable initializers
    return LOGITS_POSITIONS in {i.name for i in (*session.get_inputs(), *session.get_overridable_initializers())}


def _teacher_forced(model: LocalModel, prompt: Sequence[int], target: Sequence[int], vocab_of: Sequence[int]):
    """log p(target[i] | prompt, target[:i]) for every i, in one prefill. ``vocab_of``: the prompt
    whose tokens a short head may also write, the same for both passes so that both score the
    same vocabulary (a name only the article has is then not -inf without it)."""
    ids = [*prompt, *target[:-1]]  # the last len(target) positions predict target[0], target[1], ...
    logits = model.decoder.prefill(ids, len(target), vocab_of)[0][0].astype(np.float32)  # [len(target), vocab]
    peak = logits.max(axis=-1, keepdims=True)
    logz = peak[:, 0] + np.log(np.exp(logits - peak).sum(axis=-1))
    return np.maximum(logits[np.arange(len(target)), list(target)] - logz, LOGPROB_FLOOR)


def token_evidence(
    model: LocalModel,
    article: str,
    summary: str,
    fmt: Format,
    given: tuple[Sequence[int], Sequence[float]] | None = None,
) -> TokenEvidence | None:
    """The summary's tokens scored with and without the part of the article the model reads.
    ``given``: the generation's tokens and their log-probabilities, used when the summary (after the
    loop cut and the whole-sentence rule) re-encodes to a prefix of those tokens."""
    enc = model.tokenizer.encode(summary, add_special_tokens=False)
    if not enc.ids or not scorable(model):
        return None
    prompt = model.encode_prompt(article, fmt)
    bare = model.template.encode(model.tokenizer, NO_ARTICLE, fmt)
    target = list(enc.ids)
    reuse = given is not None and list(given[0][: len(target)]) == target and len(given[1]) >= len(target)
    with_article = (
        np.maximum(np.asarray(given[1][: len(target)], np.float32), LOGPROB_FLOOR)
        if reuse
        else _teacher_forced(model, prompt, target, prompt)
    )
    return TokenEvidence(list(enc.offsets), with_article, _teacher_forced(model, bare, target, prompt))
