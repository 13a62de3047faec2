"""The editors' verdicts: approve, reject with a reason, or edit; stored one object each, and
exported as rows the eval and the export read (an edit is a reference written by an editor).

A verdict is never overwritten: each is a new object, and the latest per story counts. So two
editors judging at once lose nothing, and the history of a story's verdicts stays readable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.desk_records.feed import FEED, DeskFeed
from functions.objects import Objects, is_key, new_key
from functions.runtime.prompt import DEFAULT_FORMAT

VERDICTS = "verdicts"
Decision = Literal["approve", "reject", "edit"]
Reason = Literal["wrong_fact", "missing_key_fact", "unreadable", "other"]
REASONS: tuple[Reason, ...] = get_args(Reason)
# the dataset an exported edit is labelled with: model_export/references.py reads it as
# "newsburst editor (desk edit)", never as a published human reference
EDITOR_DATASET = "editor"
MAX_EDIT_CHARS = 2_000
MAX_VERDICT_BYTES = 16 * 1024


class VerdictIn(BaseModel):
    """What the page posts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    story: str = Field(max_length=80)  # the feed key of the story judged
    verdict: Decision
    reason: Reason | None = None  # required for a rejection
    summary: str | None = Field(default=None, max_length=MAX_EDIT_CHARS)  # the edited text, for an edit
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _complete(self) -> VerdictIn:
        if not is_key(FEED, self.story):
            raise ValueError("story is not a desk story key")
        if self.verdict == "reject" and self.reason is None:
            raise ValueError(f"a rejection needs a reason: one of {', '.join(REASONS)}")
        if self.verdict == "edit" and not self.summary:
            raise ValueError("an edit needs the edited summary")
        return self


class Verdict(VerdictIn):
    id: str  # the item's id
    at: datetime


class VerdictStore:
    def __init__(self, objects: Objects):
        self.objects = objects

    def add(self, verdict: Verdict) -> str:
        key = new_key(VERDICTS)
        self.objects.put(key, verdict.model_dump(mode="json"))
        return key

    def latest(self) -> dict[str, Verdict]:
        """The latest verdict per story key."""
        out: dict[str, Verdict] = {}
        for key in self.objects.keys(VERDICTS + "/"):
            if (value := self.objects.get(key)) is not None:
                verdict = Verdict.model_validate(value)
                out[verdict.story] = verdict
        return out


def judge(feed: DeskFeed, store: VerdictStore, posted: VerdictIn) -> Verdict | None:
    """Store ``posted`` against its story; None when there is no such story."""
    record = feed.record_of(posted.story)
    if record is None:
        return None
    verdict = Verdict(**posted.model_dump(), id=record["story"]["id"], at=datetime.now(UTC))
    store.add(verdict)
    return verdict


def export_rows(feed: DeskFeed, store: VerdictStore) -> tuple[list[dict], dict[str, int]]:
    """Each story's latest edit as a row with id, article, reference, format and dataset "editor"
    (what ``newsburst eval --data`` and ``newsburst export --extra-articles`` read), and the count
    of latest verdicts by kind (rejections by reason)."""
    rows, counts = [], {}
    for verdict in store.latest().values():
        kind = f"reject:{verdict.reason}" if verdict.verdict == "reject" else verdict.verdict
        counts[kind] = counts.get(kind, 0) + 1
        record = feed.record_of(verdict.story) if verdict.verdict == "edit" else None
        if record is None:
            continue
        story, article = record["story"], record["article"]
        rows.append(
            {
                "id": f"desk-{story['id']}",
                "title": article["title"],
                "article": article["body"],
                "reference": verdict.summary,
                "format": story.get("format") or DEFAULT_FORMAT,
                "dataset": EDITOR_DATASET,
                "model_summary": story["summary"],
                "edited_at": verdict.at.isoformat(),
            }
        )
    return rows, counts
