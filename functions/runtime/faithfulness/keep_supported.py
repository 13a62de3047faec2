"""Highlights that fail the check lose their failing sentences, when the rest stand on their own:
an editor gets fewer, true sentences. A brief has one sentence, so it is flagged instead, and so is
a card with too little left; the flagged policy then decides (deliver flagged, the lead, escalate).
"""

from __future__ import annotations

from dataclasses import replace

from functions.runtime.faithfulness.lexical import words
from functions.runtime.faithfulness.verdict import Verdict
from functions.runtime.guard import GuardReport, check
from functions.runtime.prompt import Format

MIN_KEPT = 1  # sentences a card keeps; fewer and the card is flagged whole
# A sentence that opens on these leans on the one before it: it cannot follow a dropped sentence.
_LEANS_BACK = frozenset(
    "he she it they this these those that his her its their him them but however also and so then "
    "there such both another meanwhile later".split()
)


def _stands(sentence: str) -> bool:
    first = words(sentence)[:1]
    return not first or first[0] not in _LEANS_BACK


def keep_supported(text: str, article: str, report: GuardReport, fmt: Format) -> tuple[str, GuardReport, int]:
    """The text an editor should get, its report, and how many sentences were dropped."""
    verdict = report.verdict
    if fmt != "highlights" or verdict is None or not verdict.unsupported or report.instructions_in_article:
        return text, report, 0
    sentences = verdict.sentences
    keep = [i for i, s in enumerate(sentences) if s.supported]
    if len(keep) < MIN_KEPT:
        return text, report, 0
    if any(i > 0 and i - 1 not in keep and not _stands(text[sentences[i].start : sentences[i].end]) for i in keep):
        return text, report, 0
    parts, spans, at = [], [], 0
    for i in keep:
        piece = text[sentences[i].start : sentences[i].end]
        spans.append((at, at + len(piece)))
        parts.append(piece)
        at += len(piece) + 1
    kept_text = " ".join(parts)
    kept = check(kept_text, article)
    out = tuple(replace(sentences[i], start=a, end=b) for i, (a, b) in zip(keep, spans, strict=True))
    kept.verdict = Verdict(min(s.support for s in out), False, out, verdict.scorer)
    return kept_text, kept, len(sentences) - len(keep)
