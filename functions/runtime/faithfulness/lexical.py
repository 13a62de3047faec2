"""Lexical support of one summary sentence by its article: the words, word pairs and claims it
states that the article does not, against the article as a whole and against the two adjacent
article sentences that match it best (its "source").

Hand-written: the published lexical checkers (n-gram overlap, ROUGE) score a summary against a
reference, not each sentence against the passage that should support it, and the learned ones
(SummaC, QAFactEval) are 300M+ parameter models that a Lambda's CPU cannot run beside our own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from functions.runtime.extractive import sentence_spans

_WORD = re.compile(r"[^\W_][\w'’.-]*")
_POSSESSIVE = re.compile(r"['’]s$")
# Words that carry no fact of their own: a sentence is judged by what is left.
STOPWORDS = frozenset(
    """a an the and or but nor of to in on at for from by with as is are was were be been being am has
    have had do does did it its he she they them his her their this that these those which who whom
    whose what when where why how will would can could may might must shall should i we you our your
    my me us him than then there here also said says say so if while such only just very up out off
    into about over after before""".split()
)
STEM = 5  # a content word is matched on its first letters: "confirmed" ~ "confirms", "injured" ~ "injuries"
WINDOW = 2  # article sentences that together may support one summary sentence


def words(text: str) -> list[str]:
    """Lower-cased words, possessives and trailing full stops dropped ("U.S." stays one word)."""
    return [_POSSESSIVE.sub("", w.rstrip(".").replace("’", "'")).lower() for w in _WORD.findall(text)]


def content(ws: list[str]) -> list[str]:
    return [w[:STEM] for w in ws if w not in STOPWORDS]


def _grams(ws: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)}


@dataclass(frozen=True)
class Source:
    """The article passage that best supports a summary sentence (character offsets)."""

    start: int
    end: int
    coverage: float  # share of the sentence's content words this passage states


class ArticleIndex:
    """What the lexical signals read of an article, once per article."""

    def __init__(self, article: str):
        self.text = article
        self.spans = sentence_spans(article)
        self.sentence_words = [words(article[a:b]) for a, b in self.spans]
        flat = [w for ws in self.sentence_words for w in ws]
        self.content = set(content(flat))
        self.bigrams = _grams(flat, 2)
        self.trigrams = _grams(flat, 3)
        self.windows = [
            set(content([w for ws in self.sentence_words[i : i + WINDOW] for w in ws])) for i in range(len(self.spans))
        ]

    def source(self, sentence_content: set[str]) -> Source | None:
        if not self.spans or not sentence_content:
            return None
        best = max(range(len(self.windows)), key=lambda i: len(sentence_content & self.windows[i]))
        end = self.spans[min(best + WINDOW, len(self.spans)) - 1][1]
        return Source(self.spans[best][0], end, len(sentence_content & self.windows[best]) / len(sentence_content))


def signals(sentence: str, article: ArticleIndex) -> tuple[dict[str, float], Source | None]:
    """The sentence's lexical signals, each a share in [0, 1] where higher is less supported."""
    ws = words(sentence)
    cs = content(ws)
    source = article.source(set(cs))
    bi, tri = _grams(ws, 2), _grams(ws, 3)
    return {
        "novel_words": sum(w not in article.content for w in cs) / max(len(cs), 1),
        "uncovered": 1.0 - (source.coverage if source else 0.0),
        "novel_bigrams": len(bi - article.bigrams) / max(len(bi), 1),
        "novel_trigrams": len(tri - article.trigrams) / max(len(tri), 1),
    }, source
