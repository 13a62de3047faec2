"""Whether a summary sentence ends whole: not cut mid-clause, not ending on a word that needs more.

Hand-written: the published sentence splitters say where sentences end, not whether one is
finished, and a parser is too large for the Lambda. The model's side of it (how likely it found
the full stop where it wrote one) is in ``evidence``.
"""

from __future__ import annotations

import re

from functions.runtime.faithfulness.lexical import words

_END = re.compile(r"[.!?][\"'’”)\]]*$")
# A sentence cannot end on these: an article, a possessive, a conjunction, "of". Prepositions, verbs
# and pronouns can ("care to.", "they already have.", "stole it from her.").
_NEEDS_MORE = frozenset(
    "a an the of and or but nor whose than because although whether its their our your my between among very".split()
)
# A clause these open needs a subject and a verb: "confirmed that the disease." has lost its verb.
_CLAUSE_OPENERS = frozenset({"that", "whether", "because"})
_DETERMINERS = frozenset("the a an this these those his her its their our another".split())


def cut_reason(sentence: str) -> str | None:
    """Why the sentence reads as cut, or None when it ends whole."""
    text = sentence.strip()
    if not _END.search(text):
        return "no full stop"
    ws = words(text)
    if ws and ws[-1] in _NEEDS_MORE:
        return f"ends on '{ws[-1]}'"
    opener = max((i for i, w in enumerate(ws) if w in _CLAUSE_OPENERS), default=None)
    rest = ws[opener + 1 :] if opener is not None else []
    if rest and rest[0] in _DETERMINERS and len(rest) <= 2:
        return f"the clause after '{ws[opener]}' has no verb"
    return None


def open_at_end(text: str) -> str | None:
    """A quote or bracket the whole text leaves open: its last sentence was cut (a quote may run
    over several sentences, so this is read over the text, not sentence by sentence)."""
    if text.count('"') % 2 or text.count("“") != text.count("”"):
        return "an open quote"
    if text.count("(") != text.count(")"):
        return "an open bracket"
    return None
