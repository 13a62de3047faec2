"""Faithfulness guard: numbers and proper names in a summary that the article never states.

Lexical precision against the source correlates with human factuality judgments on news
about as well as learned checkers (FRANK benchmark) and costs microseconds, so every summary
gets it. Also rejects empty and degenerate (looping) output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from functions.runtime.injection import instructions_in

NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
# A number as a claim: with its currency and its scale or percent sign, so that "$1" or "$1 million"
# from an article that says "$1,000" is a different claim, not a prefix of a true one (issue 20)
CURRENCY = r"(?:US|A|NZ|C)?[$£€](?:US|A|NZ)?"
SCALE_WORDS = {"thousand": 3, "million": 6, "billion": 9, "trillion": 12}
SCALE_SUFFIXES = {"k": 3, "m": 6, "bn": 9, "tn": 12}  # glued: "$420m", "£3bn"
PERCENT_WORDS = ("%", " per cent", " percent")
CLAIM = re.compile(
    rf"(?P<currency>{CURRENCY})?(?P<number>\d[\d,]*(?:\.\d+)?)"
    r"(?:(?P<percent>\s?%|\s(?:per cent|percent)\b)"
    r"|\s(?P<word>thousand|million|billion|trillion)\b"
    r"|(?P<suffix>k|m|bn|tn)\b)?"
)
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
    instructions_in_article: list[str] = field(default_factory=list)  # injection.py: the summary may obey them

    @property
    def flagged(self) -> bool:
        return bool(self.unsupported_claims or self.instructions_in_article)


@dataclass(frozen=True)
class NumberClaim:
    """One number as written (``text``), with what makes it that number: its value at its scale,
    its currency and whether it is a percentage."""

    text: str
    digits: str  # the number as written, without currency or scale: "1,000", "46.5"
    currency: str  # "" when none
    value: Decimal  # at its scale: "$420 million" -> 420000000
    percent: bool
    scale: int  # the power of ten of its scale word or suffix (0: none)

    @property
    def key(self) -> tuple[str, Decimal, bool]:
        return self.currency, self.value, self.percent


def number_claims(text: str) -> list[NumberClaim]:
    out = []
    for m in CLAIM.finditer(text):
        digits = m["number"].rstrip(".,")
        try:
            value = Decimal(digits.replace(",", ""))
        except InvalidOperation:
            continue
        scale = SCALE_WORDS.get(m["word"] or "", 0) or SCALE_SUFFIXES.get(m["suffix"] or "", 0)
        text_ = m.group().rstrip(".,")
        out.append(
            NumberClaim(text_, digits, m["currency"] or "", (value * 10**scale).normalize(), bool(m["percent"]), scale)
        )
    return out


def supported_numbers(article: str) -> set[tuple[str, Decimal, bool]]:
    """The claim keys an article supports: each with its currency, and without it ("420 million"
    from "$420 million" drops the unit, it does not change the number)."""
    keys = set()
    for claim in number_claims(article):
        keys |= {claim.key, ("", claim.value, claim.percent)}
    return keys


def _name_tokens(span: str) -> list[str]:
    words = [_POSSESSIVE.sub("", w) for w in span.split()]
    return [w for w in words if w and w.lower() not in FUNCTION_WORDS]


def check(summary: str, article: str) -> GuardReport:
    report = GuardReport(degenerate=degenerate(summary), instructions_in_article=instructions_in(article))
    article_numbers = supported_numbers(article)
    article_words = {_POSSESSIVE.sub("", w).lower() for w in _WORD.findall(article)}
    for claim in number_claims(summary):
        if claim.key not in article_numbers:
            report.unsupported_claims.append(claim.text)
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
