"""What the faithfulness check says of a summary, sentence by sentence: the guard's report carries it,
the results, the desk and the eval read it. Its own module so that the guard can name it without
importing the checker that imports the guard's claims."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SentenceVerdict:
    start: int  # where the sentence is in the summary (characters)
    end: int
    support: float
    supported: bool
    source: str | None  # the article passage that supports it best
    reasons: tuple[str, ...] = ()
    signals: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Verdict:
    support: float  # the weakest sentence's
    flagged: bool
    sentences: tuple[SentenceVerdict, ...]
    scorer: str  # "model" (with the model's evidence) or "lexical"

    @property
    def unsupported(self) -> list[SentenceVerdict]:
        return [s for s in self.sentences if not s.supported]
