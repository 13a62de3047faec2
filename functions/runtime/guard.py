"""The claims guard: numbers and proper names in a summary that the article never states.

Measured against people's factuality judgments (FRANK, ``../shared/faithfulness/frank_dev.jsonl``)
it catches few wrong summaries alone (balanced accuracy 0.60 on CNN/DM, 0.56 on XSum): it cannot
see two true facts in a false relation. It is one signal of the faithfulness check
(``faithfulness/``), whose verdict its report carries. Also rejects empty and degenerate
(looping) output.

What it checked is kept as evidence: every number and name of the summary, where the summary
says it, where the article states it and the article's sentence around it (``Claim``), so an
editor sees each fact next to its source without the whole article (issue 23).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal

from functions.runtime.extractive import sentence_spans
from functions.runtime.injection import instructions_in

if TYPE_CHECKING:
    from functions.runtime.faithfulness.verdict import Verdict

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


MAX_SOURCES = 3  # article places quoted per claim
MAX_SENTENCE_CHARS = 400  # a quoted sentence longer than this is cut around its claim


@dataclass(frozen=True)
class Claim:
    """A number or a name the summary states, and the article's support for it."""

    text: str  # as the summary writes it
    kind: Literal["number", "name"]
    start: int  # where the summary writes it (character offsets)
    end: int
    supported: bool
    sources: tuple[tuple[int, int], ...] = ()  # where the article states it (or, for a name, each of its words)
    sentence: str | None = None  # the article's sentence around the first source
    in_sentence: tuple[int, int] | None = None  # the first source within ``sentence``


@dataclass
class GuardReport:
    unsupported_claims: list[str] = field(default_factory=list)
    degenerate: str | None = None  # "empty" | "repetition" | None
    instructions_in_article: list[str] = field(default_factory=list)  # injection.py: the summary may obey them
    claims: list[Claim] = field(default_factory=list)  # every number and name checked, supported or not
    verdict: Verdict | None = None  # the faithfulness check's, sentence by sentence (faithfulness/)

    @property
    def flagged(self) -> bool:
        unsupported = self.verdict is not None and self.verdict.flagged
        return bool(self.unsupported_claims or self.instructions_in_article or unsupported)


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
    start: int = 0  # where ``text`` is in the text it was read from

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
        value = (value * 10**scale).normalize()
        out.append(NumberClaim(text_, digits, m["currency"] or "", value, bool(m["percent"]), scale, m.start()))
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


class _Article:
    """What the guard reads of an article once: its numbers, its words, its sentences."""

    def __init__(self, text: str):
        self.text = text
        self.numbers = number_claims(text)
        self.number_keys = supported_numbers(text)
        self.words = {_POSSESSIVE.sub("", w).lower() for w in _WORD.findall(text)}
        self.sentences = sentence_spans(text)

    def number_sources(self, claim: NumberClaim) -> tuple[tuple[int, int], ...]:
        """The article's claims that support ``claim`` (its currency dropped counts, as in supported_numbers)."""
        found = [
            (a.start, a.start + len(a.text)) for a in self.numbers if claim.key in {a.key, ("", a.value, a.percent)}
        ]
        return tuple(found[:MAX_SOURCES])

    def name_sources(self, whole: list[str], names: list[str]) -> tuple[tuple[int, int], ...]:
        """The whole name where the article writes it so, else the first place of each of its
        ``names`` (the words that carry the claim: "Smith" of "Mr Smith")."""
        found = [m.span() for m in re.finditer(rf"\b{re.escape(' '.join(whole))}\b", self.text)]
        if found:
            return tuple(found[:MAX_SOURCES])
        each = (re.search(rf"\b{re.escape(w)}\b", self.text, re.IGNORECASE) for w in names)
        return tuple(m.span() for m in each if m)[:MAX_SOURCES]

    def claim(self, text: str, kind, start: int, supported: bool, sources: tuple[tuple[int, int], ...]) -> Claim:
        if not sources:
            return Claim(text, kind, start, start + len(text), supported)
        at, to = sources[0]
        a, b = next(((a, b) for a, b in self.sentences if a <= at < b), (at, to))
        if b - a > MAX_SENTENCE_CHARS:  # a run-on "sentence" (a list, a table): the window around the claim
            a = max(a, at - MAX_SENTENCE_CHARS // 2)
            b = min(b, a + MAX_SENTENCE_CHARS)
        return Claim(text, kind, start, start + len(text), supported, sources, self.text[a:b], (at - a, min(to, b) - a))


def check(summary: str, article: str) -> GuardReport:
    report = GuardReport(degenerate=degenerate(summary), instructions_in_article=instructions_in(article))
    source = _Article(article)
    for claim in number_claims(summary):
        supported = claim.key in source.number_keys
        if not supported:
            report.unsupported_claims.append(claim.text)
        report.claims.append(source.claim(claim.text, "number", claim.start, supported, source.number_sources(claim)))
    for match in NAME.finditer(summary):
        words = [(w.group(), match.start() + w.start()) for w in re.finditer(r"\S+", match.group())]
        if _SENTENCE_START.search(summary[: match.start()]):
            words = words[1:]  # capitalised by position; a name there is missed (accepted)
        names = _name_tokens(" ".join(w for w, _ in words))
        if not names:
            continue
        missing = [w for w in names if w.lower() not in source.words]
        if missing:
            report.unsupported_claims.append(" ".join(missing))
        start, end = words[0][1], words[-1][1] + len(words[-1][0])
        whole = [_POSSESSIVE.sub("", w) for w, _ in words]
        sources = () if missing else source.name_sources(whole, names)
        report.claims.append(source.claim(summary[start:end], "name", start, not missing, sources))
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
