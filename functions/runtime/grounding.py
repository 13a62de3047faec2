"""Grounded decoding: while the model writes a number or a name, it may only write one the article has.

Per request, the article's numbers (each in every written form: "1,000" and "1000", "$420
million" and "$420m", "7%" and "7 per cent", always with its scale or percent sign and,
optionally, its currency) and its capitalized name sequences (and every run of up to
``NAME_RUN`` words inside them, so "Beattie" alone is fine) become token sequences in a prefix
trie. Outside a span nothing changes; a token that would start a number or a name must start
one of the article's, and inside a span only continuations that stay on the trie are allowed;
a complete span may end there. A number's scale ("million", "m", "%") may follow it only along
the trie, and a currency sign opens a span like a digit: so "$1." or "$1 million" cannot be
written from an article that says "$1,000" (whole numbers only). A score or a range ("29-10",
"2010-11") is one span as written; a hyphen after a number may lead on to a word ("29-year-old")
but never to a number, nor to a space before one ("29- 10"), that the article does not write so.

``tokens`` mode is the cheaper, weaker variant measured first: number and name tokens are
allowed only if that token occurs in the article at all (it lets "46.6" be assembled from
"4", "6", "." and "6" that each occur somewhere).

Hand-written: no library constrains an ORT decode loop to a per-request set of spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
from tokenizers import Tokenizer

from functions.runtime.guard import (
    FUNCTION_WORDS,
    PERCENT_WORDS,
    SCALE_SUFFIXES,
    SCALE_WORDS,
    NumberClaim,
    number_claims,
)

Grounding = Literal["off", "tokens", "spans"]  # the one place the decoding modes are written
MODES: tuple[Grounding, ...] = get_args(Grounding)
DEFAULT_GROUNDING: Grounding = "spans"  # as served, as the teacher writes targets, as the gates and evals judge
# Bumped when a rule changes what a mode lets through (2: scores and ranges written whole): the response
# cache key carries it, so a summary written under the old rule is not served as the new one's answer.
RULES_REVISION = 2


def resolve_grounding(*choices: Grounding | None) -> Grounding:
    """The first mode given, most specific first: the item's own field, then the request's
    parameter, then the deployment's default (the one precedence rule, used by every caller)."""
    return next(mode for mode in choices if mode is not None)


_DIGIT = re.compile(r"\d")
_CURRENCY_SIGNS = ("$", "£", "€")
_DASHES = ("-", "–")
_NUMBER_PART = r"\d+(?:[.,]\d+)*"
_RANGE = re.compile(rf"\b{_NUMBER_PART}[{''.join(_DASHES)}]{_NUMBER_PART}\b")  # "29-10", "2010-11", "1,000-2,000"
_SCALE_TOKENS = {*SCALE_WORDS, *SCALE_SUFFIXES, "%", "per", "percent"}
# Sub-runs of a capitalised sequence kept as spans: n words give at most n * NAME_RUN spans (not
# n^2 / 2: 400 capitalised words built 80,000 spans and took 39 s, issue 22); a longer name is
# still written, as consecutive spans ("New South Wales" "Premier Bob Carr").
NAME_RUN = 4
# The guard's name pattern without digits: "$US46.5" holds the name "US" and the number "46.5".
_NAME = re.compile(r"\b[A-Z][A-Za-z'’-]*(?:\s+[A-Z][A-Za-z'’-]*)*")


@dataclass(frozen=True)
class VocabClasses:
    """Which tokens can open a claim, computed once per tokenizer."""

    digit: np.ndarray  # bool[vocab]
    capital: np.ndarray  # bool[vocab]: the token's text starts with an upper-case letter
    spaced: np.ndarray  # bool[vocab]: the token's text starts with white space
    opener: np.ndarray  # bool[vocab]: digit, capital or currency sign, less capitalized function words ("The")
    free: np.ndarray  # bool[vocab]: none of those: what may follow a complete span
    scale: np.ndarray  # bool[vocab]: a number's scale or percent ("million", "m", "%"): only along the trie
    dash: np.ndarray  # bool[vocab]: a hyphen or an en dash, as in "29-10"
    blank: np.ndarray  # bool[vocab]: white space only (" ", "\n"): the tokenizer's space before a digit
    hyphen_word: np.ndarray  # bool[vocab]: free, not blank, not a scale: what may follow "29-" ("year")
    cap_ids: np.ndarray  # capitalized tokens that have a lower-case twin (" The" -> " the") ...
    low_ids: np.ndarray  # ... and that twin

    @classmethod
    def of(cls, tokenizer: Tokenizer) -> VocabClasses:
        texts = tokenizer.decode_batch([[i] for i in range(tokenizer.get_vocab_size())])
        index = {t: i for i, t in enumerate(texts)}
        digit = np.array([bool(_DIGIT.search(t)) for t in texts])
        capital = np.array([t.lstrip()[:1].isupper() for t in texts])
        currency = np.array([t.lstrip().startswith(_CURRENCY_SIGNS) for t in texts])
        scale = np.array([t.strip().lower() in _SCALE_TOKENS for t in texts])
        spaced = np.array([t[:1].isspace() for t in texts])
        dash = np.array([t in _DASHES for t in texts])
        blank = np.array([t.isspace() for t in texts])
        opener = digit | capital | currency
        for word in FUNCTION_WORDS:
            for form in (word.capitalize(), " " + word.capitalize()):
                if form in index:
                    opener[index[form]] = False
        pairs = [(i, index[t.lower()]) for i, t in enumerate(texts) if capital[i] and t.lower() in index]
        cap_ids, low_ids = (np.array(col, dtype=np.int64) for col in zip(*pairs, strict=True))
        free = ~(digit | capital | currency)
        hyphen_word = free & ~blank & ~scale
        return cls(digit, capital, spaced, opener, free, scale, dash, blank, hyphen_word, cap_ids, low_ids)


@dataclass
class Node:
    children: dict[int, Node] = field(default_factory=dict)
    terminal: bool = False
    hyphen: bool = False  # reached by a dash after a digit: a word may follow here ("29-year-old")


def number_forms(raw: str) -> set[str]:
    """ "1,000" -> {"1,000", "1000"}; "1000" -> {"1000", "1,000"}; decimals keep their fraction."""
    plain = raw.replace(",", "").rstrip(".")
    whole, _, frac = plain.partition(".")
    grouped = f"{int(whole):,}" if whole.isdigit() and len(whole) < 16 else whole
    return {f for f in {raw.rstrip(".,"), plain, grouped + (f".{frac}" if frac else "")} if f}


_SCALE_FORMS = {
    power: (f" {word}", suffix)
    for word, power in SCALE_WORDS.items()
    for suffix, p in SCALE_SUFFIXES.items()
    if p == power
}


def claim_forms(claim: NumberClaim) -> set[str]:
    """Every way a summary may write ``claim``: the digits with and without thousands separators,
    the scale as a word or a suffix (or the percent as a sign or words), with or without its currency."""
    tails = PERCENT_WORDS if claim.percent else _SCALE_FORMS.get(claim.scale, ("",))
    bodies = {n + t for n in number_forms(claim.digits) for t in tails}
    return bodies | {claim.currency + b for b in bodies}


def article_spans(article: str) -> set[str]:
    spans: set[str] = set()
    for claim in number_claims(article):
        spans |= claim_forms(claim)
    for match in _NAME.finditer(article):
        words = [re.sub(r"['’]s$", "", w) for w in match.group().split()]
        for i in range(len(words)):
            for j in range(i + 1, min(i + NAME_RUN, len(words)) + 1):
                spans.add(" ".join(words[i:j]))
    return spans | set(_RANGE.findall(article))


def build_trie(tokenizer: Tokenizer, vocab: VocabClasses, spans: set[str]) -> Node:
    """Each span with and without a leading space (mid-sentence / at the start or after "$")."""
    root = Node()
    forms = sorted({f for s in spans for f in (s, " " + s)})
    for encoding in tokenizer.encode_batch(forms, add_special_tokens=False):
        node, last = root, None
        for token in encoding.ids:
            node = node.children.setdefault(token, Node())
            node.hyphen |= last is not None and bool(vocab.dash[token] and vocab.digit[last])
            last = token
        node.terminal = True
    return root


class SpanConstraint:
    """One row's decoding state: outside any span, or at a trie node inside one."""

    def __init__(self, root: Node, opens: np.ndarray, vocab: VocabClasses):
        self.root, self.opens, self.vocab = root, opens, vocab
        self.node: Node | None = None  # None: outside a span
        self.start_ban = opens.copy()
        self.start_ban[list(root.children)] = False  # may open only a span the article has
        self.glue_ban = self.start_ban | vocab.digit  # right after "46" + ".": no digit may follow
        self.dash_ban = self.glue_ban | vocab.blank  # right after "29" + "-": nor a space before one ("29- 10")
        self.reopen = opens & ~self.start_ban  # a complete span may be followed at once by another ("US" "46.5")
        self.ban = self.start_ban  # outside a span: the ban for the next token
        self.last: int | None = None

    def apply(self, logits: np.ndarray) -> np.ndarray:
        if self.node is None:
            return np.where(self.ban, -np.inf, logits)
        if self.node.terminal:
            allowed = self.vocab.free | self.reopen
            if self.vocab.digit[self.last]:  # a whole number ends here: no scale it does not have
                allowed = allowed & ~self.vocab.scale
        elif self.node.hyphen:
            allowed = self.vocab.hyphen_word.copy()  # "29-" + "year"; the range itself is the trie's
        else:
            allowed = np.zeros_like(self.reopen)
        allowed[list(self.node.children)] = True
        return np.where(allowed, logits, -np.inf)

    def advance(self, token: int) -> None:
        inside = self.node is not None
        nxt = self.node.children.get(token) if inside else None
        # a number left through "." or "," (not a space) must not grow new digits on the end
        glued = inside and nxt is None and bool(self.vocab.digit[self.last]) and not self.vocab.spaced[token]
        self.ban = (self.dash_ban if self.vocab.dash[token] else self.glue_ban) if glued else self.start_ban
        if nxt is None and self.opens[token]:
            nxt = self.root.children.get(token)  # opened a span (or a new one right after the last)
        self.node = nxt  # None: a free token ended the span, or we were never in one
        self.last = token


class TokenConstraint:
    """``tokens`` mode: claim-opening tokens must occur in the article."""

    def __init__(self, banned: np.ndarray):
        self.banned = banned

    def apply(self, logits: np.ndarray) -> np.ndarray:
        return np.where(self.banned, -np.inf, logits)

    def advance(self, token: int) -> None:
        pass


def claim_openers(vocab: VocabClasses, article_ids: set[int]) -> np.ndarray:
    """Tokens that open a number or a name in this article: a capitalized word whose lower-case
    twin the article uses ("Officials" when it has "officials") is capitalized by position."""
    opens = vocab.opener.copy()
    opens[vocab.cap_ids[np.isin(vocab.low_ids, list(article_ids))]] = False
    return opens


def constraint_for(mode: Grounding, tokenizer: Tokenizer, vocab: VocabClasses, article: str, article_ids: list[int]):
    """The per-request constraint for ``mode`` (None for ``off``)."""
    if mode == "off":
        return None
    seen = set(article_ids)
    opens = claim_openers(vocab, seen)
    if mode == "tokens":
        banned = opens.copy()
        banned[list(seen)] = False
        return TokenConstraint(banned)
    return SpanConstraint(build_trie(tokenizer, vocab, article_spans(article)), opens, vocab)
