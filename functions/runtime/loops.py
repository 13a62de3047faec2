"""Loop stopping: end a summary when the model starts repeating itself, and keep what came before.

Small models fall into loops ("The article also highlights ... The article also highlights
..."); measured on a 200-item burst, 42% of the student's summaries did, and the guard then
threw them away. Blocking repeated n-grams instead (BART-style) made the models invent new
names and numbers: flagged summaries rose from 53% to 73% on the held-out set. Stopping at the
first repeat keeps the faithful opening and saves the decode steps a loop would burn.
"""

from __future__ import annotations

from collections.abc import Sequence

LOOP_NGRAM = 6  # tokens; shorter spans repeat legitimately ("of the", "in the city of")


def looping(tokens: Sequence[int], n: int = LOOP_NGRAM) -> bool:
    """True when the last ``n`` tokens already occurred earlier in the output."""
    if len(tokens) < 2 * n:
        return False
    tail = list(tokens[-n:])
    return any(list(tokens[i : i + n]) == tail for i in range(len(tokens) - n))


def before_loop(tokens: Sequence[int], n: int = LOOP_NGRAM) -> list[int]:
    """The output without its repeated tail."""
    return list(tokens[:-n]) if looping(tokens, n) else list(tokens)


def whole_sentences(text: str) -> str:
    """Drop a trailing unfinished sentence, unless nothing would be left."""
    end = max(text.rfind(". "), text.rfind("! "), text.rfind("? "), text.rfind("."))
    return text[: end + 1] if end > 0 else text


def one_paragraph(text: str) -> str:
    """The summary as one paragraph: a line break inside a sentence ("a $1.\nmillion upgrade") reads
    as two claims and splits a sentence for ROUGE-Lsum and the editors alike."""
    return " ".join(text.split())
