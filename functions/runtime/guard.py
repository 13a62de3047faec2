"""Faithfulness guard: numbers and proper names in a summary that the article never states.

Lexical precision against the source correlates with human factuality judgments on news
about as well as learned checkers (FRANK benchmark) and costs microseconds, so every summary
gets it. Also rejects empty and degenerate (looping) output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
# A capitalised word, optionally continued by more capitalised words ("Peter Beattie").
NAME = re.compile(r"\b[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*")
_POSSESSIVE = re.compile(r"['’]s$")
_WORD = re.compile(r"[\w'’-]+")
_SENTENCE_START = re.compile(r"(?:^|[.!?][\"')\]]?)\s*$")
# Capitalised words that carry no claim of their own at the start of a sentence or anywhere.
FUNCTION_WORDS = {
    "a",
    "an",
    "the",
    "he",
    "she",
    "it",
    "they",
    "we",
    "i",
    "this",
    "that",
    "these",
    "those",
    "his",
    "her",
    "its",
    "their",
    "in",
    "on",
    "at",
    "of",
    "for",
    "and",
    "but",
    "or",
    "as",
    "after",
    "before",
    "while",
    "meanwhile",
    "however",
    "also",
    "there",
    "here",
    "some",
    "more",
    "most",
    "both",
    "mr",
    "mrs",
    "ms",
    "dr",
}


@dataclass
class GuardReport:
    unsupported_claims: list[str] = field(default_factory=list)
    degenerate: str | None = None  # "empty" | "repetition" | None

    @property
    def flagged(self) -> bool:
        return bool(self.unsupported_claims)


def _normalize_number(text: str) -> str:
    return text.replace(",", "").rstrip(".")


def _numbers(text: str) -> set[str]:
    return {_normalize_number(m) for m in NUMBER.findall(text)}


def _name_tokens(span: str) -> list[str]:
    words = [_POSSESSIVE.sub("", w) for w in span.split()]
    return [w for w in words if w and w.lower() not in FUNCTION_WORDS]


def check(summary: str, article: str) -> GuardReport:
    report = GuardReport(degenerate=degenerate(summary))
    article_numbers = _numbers(article)
    article_words = {_POSSESSIVE.sub("", w).lower() for w in _WORD.findall(article)}
    for raw in NUMBER.findall(summary):
        if _normalize_number(raw) not in article_numbers:
            report.unsupported_claims.append(raw.rstrip(".,"))
    for match in NAME.finditer(summary):
        words = match.group().split()
        if _SENTENCE_START.search(summary[: match.start()]):
            words = words[1:]  # capitalised by position; a name there is missed (accepted)
        missing = [w for w in _name_tokens(" ".join(words)) if w.lower() not in article_words]
        if missing:
            report.unsupported_claims.append(" ".join(missing))
    report.unsupported_claims = list(dict.fromkeys(report.unsupported_claims))
    return report


def degenerate(summary: str, ngram: int = 4, max_repeats: int = 3) -> str | None:
    """'empty' for whitespace only, 'repetition' when any word n-gram recurs too often."""
    words = summary.lower().split()
    if not words:
        return "empty"
    counts: dict[tuple[str, ...], int] = {}
    for i in range(len(words) - ngram + 1):
        gram = tuple(words[i : i + ngram])
        counts[gram] = counts.get(gram, 0) + 1
        if counts[gram] >= max_repeats:
            return "repetition"
    return None
