"""The messages that cross the functions' boundaries: news items in, summary results out, and
the contract between the Lambda function and the GPU endpoint (its request, response and
secret header). Both sides import it; neither imports the other."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError, field_validator

from functions.runtime.grounding import Grounding, resolve_grounding
from functions.runtime.guard import GuardReport
from functions.runtime.prompt import Format

# Where a summary came from: this function's model, the escalation endpoint, the response cache,
# the extractive fallback (lead sentences) when neither model could answer, or its story's latest
# summary, reused because every fact it states is in this copy too (functions/stories/)
Route = Literal["local", "escalate", "cache", "fallback", "story"]

MAX_BODY_CHARS = 60_000  # ~15k tokens: beyond even the GPU endpoint's 8k window is refused up front
MAX_TITLE_CHARS = 500
MAX_REQUEST_BYTES = 256 * 1024  # SQS's message limit; the HTTP API answers 413 above it
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # an endpoint answer: 64 results with evidence fit in well under this
SECRET_HEADER = "X-Newsburst-Secret"  # the endpoint's shared secret outside SageMaker (which uses IAM)


def describe(exc: ValidationError) -> str:
    """A validation failure as one line naming each field and rule, never the value (article text)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in exc.errors())


class NewsItem(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200, pattern=r"^[\w.:/@-]+$")
    title: str = Field(default="", max_length=MAX_TITLE_CHARS)
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)
    source_url: AnyHttpUrl | None = None
    published_at: datetime | None = None
    language: str = Field(default="en", min_length=2, max_length=8)
    grounding: Grounding | None = None  # overrides the deployment's default
    format: Format | None = None  # "brief" (one sentence) or "highlights" (about three); default: the deployment's

    @field_validator("body")
    @classmethod
    def _has_text(cls, body: str) -> str:
        # zero-width and format characters are not text: a body must hold a letter or a digit
        if not any(ch.isalnum() for ch in body):
            raise ValueError("body has no text (empty, whitespace, punctuation or invisible characters only)")
        return body

    def settled(self, *defaults: Choices) -> NewsItem:
        """This item with its grounding mode and format decided, most specific first: its own
        fields, then each of ``defaults`` in order (a request's parameters, the deployment's
        settings). The one precedence rule: every path settles an item before using either."""
        grounding = resolve_grounding(self.grounding, *(d.grounding for d in defaults))
        fmt = next(f for f in (self.format, *(d.format for d in defaults)) if f is not None)
        if (grounding, fmt) == (self.grounding, self.format):
            return self
        return self.model_copy(update={"grounding": grounding, "format": fmt})


class Choices(Protocol):
    """Where an item's unset grounding and format come from: a request's parameters, the settings."""

    grounding: Grounding | None
    format: Format | None


class GenerationParameters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # frozen: requests batch by equal parameters

    max_new_tokens: int | None = Field(default=None, ge=1, le=1024)
    grounding: Grounding | None = None
    format: Format | None = None


class SentenceSupport(BaseModel):
    """One summary sentence as the faithfulness check judged it (functions/runtime/faithfulness):
    ``start``/``end`` in the summary (characters), its ``support`` in [0, 1], whether it passed, the
    article passage that supports it best (at most 400 characters) and the reasons against it."""

    start: int
    end: int
    support: float
    supported: bool
    source: str | None = None
    reasons: list[str] = Field(default_factory=list)


class Faithfulness(BaseModel):
    flagged: bool = False
    support: float | None = None  # the weakest sentence's support; None: not checked (empty output)
    sentences: list[SentenceSupport] = Field(default_factory=list)
    dropped_sentences: int = 0  # highlights sentences the check failed and the summary left out
    unsupported_claims: list[str] = Field(default_factory=list)
    degenerate: str | None = None  # "empty" | "repetition": the model's output was not delivered
    instructions_in_article: list[str] = Field(default_factory=list)  # text addressed to the model: flagged
    grounding: str | None = None  # the decoding mode that produced the summary

    def why_flagged(self) -> str:
        """One line for a person: what made the check flag this summary ("" when it did not)."""
        if not self.flagged:
            return ""
        parts = [f"not in the article: {', '.join(self.unsupported_claims)}"] if self.unsupported_claims else []
        weak = [s for s in self.sentences if not s.supported]
        if weak:
            parts.append(f"{len(weak)} sentence(s) unsupported ({'; '.join(weak[0].reasons[:2])})")
        if self.instructions_in_article:
            parts.append("the article addresses the model")
        return " | ".join(parts)


class Evidence(BaseModel):
    """One number or name of a summary and where its article states it: what the guard checked,
    kept for the editor (issue 23). Offsets are characters: ``start``/``end`` in the summary,
    ``sources`` in the article; ``sentence`` is the article's sentence around the first source
    (at most 400 characters) and ``in_sentence`` that source within it, so neither the desk nor
    a notification needs the whole article. An unsupported claim has no sources."""

    text: str
    kind: Literal["number", "name"]
    start: int
    end: int
    supported: bool
    sources: list[tuple[int, int]] = Field(default_factory=list)
    sentence: str | None = None
    in_sentence: tuple[int, int] | None = None


def evidence_of(report: GuardReport) -> list[Evidence]:
    return [Evidence.model_validate(claim, from_attributes=True) for claim in report.claims]


def sentences_of(report: GuardReport) -> list[SentenceSupport]:
    if report.verdict is None:
        return []
    return [
        SentenceSupport(
            start=s.start,
            end=s.end,
            support=round(s.support, 3),
            supported=s.supported,
            source=s.source,
            reasons=list(s.reasons),
        )
        for s in report.verdict.sentences
    ]


class StoryRef(BaseModel):
    """The breaking story an item belongs to: its id, the version this summary is (or reuses), and
    for an update the version it updates and the facts (numbers, names) new in it or gone from it."""

    id: str
    version: int
    update_of: int | None = None
    new_facts: list[str] = Field(default_factory=list)
    gone_facts: list[str] = Field(default_factory=list)


class Timings(BaseModel):
    total_ms: float = 0.0
    time_to_first_token_ms: float | None = None
    decode_tokens_per_second: float | None = None
    model_load_s: float | None = None  # set on the invocation that loaded the model (cold)


class SummaryResult(BaseModel):
    id: str
    summary: str
    model_version: str
    route: Route
    format: Format | None = None  # what was asked for (None: an old cache entry, or a fallback's lead)
    cache_hit: bool = False
    escalated: bool = False
    # over_budget, or the cascade's reason: flagged, degenerate, low_confidence (runtime/cascade.py)
    escalation_reason: str | None = None
    fallback: bool = False  # an extractive lead summary stands in for the model's
    tokens_in: int = 0
    tokens_out: int = 0
    model_ms: float = 0.0  # the model's own time on this item (prefill + decode; the endpoint's, escalated)
    billed_ms: float = 0.0  # this item's share of the invocation's billed duration (cache hits included)
    timings: Timings = Field(default_factory=Timings)
    faithfulness: Faithfulness = Field(default_factory=Faithfulness)
    evidence: list[Evidence] = Field(default_factory=list)  # empty in cache entries written before it
    story: StoryRef | None = None


class EndpointRequest(BaseModel):
    """POST /invocations of the GPU endpoint."""

    model_config = ConfigDict(extra="forbid")

    items: list[NewsItem] = Field(min_length=1, max_length=64)
    parameters: GenerationParameters = Field(default_factory=GenerationParameters)


class EndpointResponse(BaseModel):
    results: list[SummaryResult]
    batch_size: int  # requests' items generated together by dynamic batching


class SummaryReady(BaseModel):
    """The editor notification."""

    id: str
    title: str
    summary: str
    source_url: str | None
    model_version: str
    route: Route
    format: Format | None = None
    cache_hit: bool
    fallback: bool
    escalated: bool
    escalation_reason: str | None = None
    faithfulness: Faithfulness
    evidence: list[Evidence] = Field(default_factory=list)
    latency_ms: float
    tokens_in: int = 0  # what this summary cost: tokens, the model's time, the billed share
    tokens_out: int = 0
    model_ms: float = 0.0
    billed_ms: float = 0.0
    story_id: str | None = None
    story_version: int | None = None
    update_of: int | None = None  # the story version this one updates (None: a new story, or a reused summary)
    new_facts: list[str] = Field(default_factory=list)
    gone_facts: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, item: NewsItem, result: SummaryResult) -> SummaryReady:
        return cls(
            id=item.id,
            title=item.title,
            summary=result.summary,
            source_url=str(item.source_url) if item.source_url else None,
            model_version=result.model_version,
            route=result.route,
            format=result.format,
            cache_hit=result.cache_hit,
            fallback=result.fallback,
            escalated=result.escalated,
            escalation_reason=result.escalation_reason,
            faithfulness=result.faithfulness,
            evidence=result.evidence,
            latency_ms=result.timings.total_ms,
            tokens_in=result.tokens_in,
            tokens_out=result.tokens_out,
            model_ms=result.model_ms,
            billed_ms=result.billed_ms,
            **(
                {
                    "story_id": result.story.id,
                    "story_version": result.story.version,
                    "update_of": result.story.update_of,
                    "new_facts": result.story.new_facts,
                    "gone_facts": result.story.gone_facts,
                }
                if result.story
                else {}
            ),
        )
