"""The one faithfulness check: each summary sentence's support in [0, 1], and the summary's verdict.

Every sentence gets the same signals (``LEXICAL``: lexical and relational; the wholeness rule; and,
when the served scorer reads them, the model's evidence, ``MODEL``); a logistic regression fitted on people's
factuality judgments (FRANK, by ``newsburst judge --fit``; ``weights.json`` keeps the
coefficients with their provenance) turns them into the probability that the sentence is
faithful. A summary is as supported as its weakest sentence, and it fails when a sentence falls
below its format's threshold. A sentence cut short (``wholeness``) fails whatever its support: people's
labels rarely see one (published summaries end whole), so no fit could weigh it. The reasons name
the signals that weighed most against a sentence.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from functions.runtime.extractive import sentence_spans
from functions.runtime.faithfulness.evidence import TokenEvidence
from functions.runtime.faithfulness.lexical import WINDOW, ArticleIndex, Source, signals
from functions.runtime.faithfulness.verdict import SentenceVerdict, Verdict
from functions.runtime.faithfulness.wholeness import cut_reason, open_at_end
from functions.runtime.guard import Claim
from functions.runtime.prompt import Format

WEIGHTS = Path(__file__).with_name("weights.json")
# each signal is higher when the sentence is less supported
LEXICAL = ("novel_words", "uncovered", "novel_bigrams", "novel_trigrams", "unsupported_claims", "claims_apart")
MODEL = ("low_pmi", "unlikely", "unlikely_end")
# Each format has its own regression. A brief is one abstractive sentence: new word pairs and
# sequences are its nature (alone they do not separate faithful XSum briefs: balanced accuracy
# 0.52 / 0.47, docs/benchmarks.md), so only its content words are weighed.
FORMAT_LEXICAL: dict[str, tuple[str, ...]] = {"highlights": LEXICAL, "brief": ("novel_words", "uncovered")}
MAX_SOURCE_CHARS = 400  # the article passage quoted for a sentence
REASON_LOGIT = 0.5  # a signal is named as a reason when it moves the sentence's logit by this much
# What each signal says against a sentence, for an editor (shares shown as %, the model's in nats)
READABLE = {
    "novel_words": "words the article does not use",
    "uncovered": "content its closest article passage lacks",
    "novel_bigrams": "word pairs the article does not write",
    "novel_trigrams": "word sequences the article does not write",
    "claims_apart": "facts the article never states together",
    "low_pmi": "as likely without the article",
    "unlikely": "unlikely given the article",
    "unlikely_end": "an unlikely ending",
}


def features_for(scorer: str, fmt: Format) -> tuple[str, ...]:
    return FORMAT_LEXICAL[fmt] + (MODEL if scorer == "model" else ())


@dataclass(frozen=True)
class Scorer:
    """One fitted logistic regression over standardized signals: P(unfaithful) = sigmoid(w . z + b)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    thresholds: dict[str, float]  # per format: a sentence below this support fails

    @classmethod
    def of(cls, fitted: dict) -> Scorer:
        return cls(
            tuple(fitted["features"]),
            np.asarray(fitted["mean"]),
            np.asarray(fitted["scale"]),
            np.asarray(fitted["coef"]),
            float(fitted["intercept"]),
            dict(fitted["thresholds"]),
        )

    def contributions(self, signals: dict[str, float]) -> np.ndarray:
        x = np.asarray([signals[f] for f in self.features])
        return self.coef * (x - self.mean) / self.scale

    def support(self, signals: dict[str, float]) -> float:
        logit = float(self.contributions(signals).sum()) + self.intercept
        return 1.0 / (1.0 + math.exp(logit))  # 1 - P(unfaithful)


@cache
def scorers(path: Path = WEIGHTS) -> dict[str, dict[str, Scorer]]:
    """The fitted scorers by name ("model", "lexical") and format, read once per process."""
    fitted = json.loads(path.read_text())
    return {name: {fmt: Scorer.of(s) for fmt, s in by_format.items()} for name, by_format in fitted["scorers"].items()}


@cache
def revision(path: Path = WEIGHTS) -> str:
    """Which check judged a summary: its weights file's digest. The response cache key carries it, so
    a summary judged (and cut down) under other weights is not served as this check's answer."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@cache
def served(path: Path = WEIGHTS) -> str:
    """The scorer the runtime uses, chosen by the fit's cross-validation ("lexical" unless the
    model's evidence earns its cost: the fit's ``serve``)."""
    return json.loads(path.read_text())["serve"]


def _claims_apart(claims: list[Claim], article: ArticleIndex) -> float:
    """Share of the sentence's pairs of supported claims that the article never states within
    ``WINDOW`` sentences of each other: two true facts put in a relation the article does not make."""
    where = []
    for c in claims:
        at = {i for a, _ in c.sources for i, (s, e) in enumerate(article.spans) if s <= a < e}
        if at:
            where.append(at)
    pairs = [(p, q) for i, p in enumerate(where) for q in where[i + 1 :]]
    if not pairs:
        return 0.0
    apart = sum(min(abs(i - j) for i in p for j in q) >= WINDOW for p, q in pairs)
    return apart / len(pairs)


def _model_signals(evidence: TokenEvidence | None, start: int, end: int) -> dict[str, float]:
    at = evidence.within(start, end) if evidence is not None else np.zeros(0, np.int64)
    if not len(at):
        return {}
    return {
        "low_pmi": -float(evidence.pmi[at].mean()),
        "unlikely": -float(evidence.with_article[at].mean()),
        "unlikely_end": -float(evidence.with_article[at[-1]]),
    }


def sentence_signals(
    summary: str, article: ArticleIndex, claims: list[Claim], evidence: TokenEvidence | None
) -> list[tuple[tuple[int, int], dict[str, float], Source | None, str | None]]:
    """Each summary sentence's span, signals, best article passage and cut reason."""
    out = []
    spans = sentence_spans(summary)
    for n, (start, end) in enumerate(spans):
        sentence = summary[start:end]
        lexical, source = signals(sentence, article)
        inside = [c for c in claims if start <= c.start < end]
        cut = cut_reason(sentence) or (open_at_end(summary) if n == len(spans) - 1 else None)
        values = {
            **lexical,
            "unsupported_claims": float(sum(not c.supported for c in inside)),
            "claims_apart": _claims_apart([c for c in inside if c.supported], article),
            "cut": float(cut is not None),  # a rule, not a fitted weight (module docstring)
            **_model_signals(evidence, start, end),
        }
        out.append(((start, end), values, source, cut))
    return out


def _reasons(
    scorer: Scorer, values: dict[str, float], inside: list[Claim], cut: str | None, below: str
) -> tuple[str, ...]:
    """The claims and the cut first, then the signals that push against the sentence (those that push
    by ``REASON_LOGIT`` or more, else the strongest one); ``below`` when no signal stands out."""
    named = [f"not in the article: {c.text}" for c in inside if not c.supported]
    if cut:
        named.append(f"cut: {cut}")
    pushes = scorer.contributions(values)
    against = [i for i in np.argsort(-pushes) if pushes[i] > 0 and scorer.features[i] != "unsupported_claims"]
    strong = [i for i in against if pushes[i] >= REASON_LOGIT] or against[:1]
    for i in strong:
        name = scorer.features[i]
        shown = f"{values[name]:.1f} nats" if name in MODEL else f"{values[name]:.0%}"
        named.append(f"{READABLE[name]} ({shown})")
    return tuple(named) or (below,)


def check(
    summary: str,
    article: str,
    fmt: Format,
    claims: list[Claim],
    evidence: TokenEvidence | None = None,
    index: ArticleIndex | None = None,
) -> Verdict:
    """The verdict on ``summary``; ``claims``: the guard's numbers and names of it, ``evidence``: the
    model's (None: judged by the lexical scorer alone)."""
    index = index or ArticleIndex(article)
    name = "model" if evidence is not None else "lexical"
    scorer = scorers()[name][fmt]
    threshold = scorer.thresholds[fmt]
    out = []
    for (start, end), values, source, cut in sentence_signals(summary, index, claims, evidence):
        support = scorer.support(values) if all(f in values for f in scorer.features) else 0.0
        passage = article[source.start : source.end][:MAX_SOURCE_CHARS] if source else None
        inside = [c for c in claims if start <= c.start < end]
        supported = support >= threshold and cut is None
        below = f"support {support:.2f} under the {fmt} threshold {threshold:.2f}"
        reasons = () if supported else _reasons(scorer, values, inside, cut, below)
        out.append(SentenceVerdict(start, end, support, supported, passage, reasons, values))
    support = min((s.support for s in out), default=0.0)
    return Verdict(support, not out or any(not s.supported for s in out), tuple(out), name)
