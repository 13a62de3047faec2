"""Training rows with human references: which format each teaches, and which ones to trust.

A row of ``--extra-articles`` that carries a ``reference`` is a summary written by people (the
published CNN/DailyMail highlights, the BBC's XSum introductions, Newsroom's summaries, hired
news writers', or an editor's edit exported from the desk): the model learns from it directly
(cross-entropy on its tokens, beside the teacher's distribution on the same tokens). A row
without one is an article only, and the teacher writes its target.

Two kinds of reference are dropped, and counted: ones that state a number or a name their
article lacks (XSum's introductions often do: the BBC writes them from more than the page), since
a model trained on them learns to invent; and lower-cased, tokenized copies of articles
("( cnn ) chinese police ...") and lower-cased references (FRANK's XSum copies), which would
teach lower-case names and cannot be checked for them. PTB quotes (`` '') become plain quotes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from functions.desk_records.verdicts import EDITOR_DATASET
from functions.runtime.guard import check
from functions.runtime.prompt import FORMATS, Format

# The format each published data set's references are written in (issue 20: XSum's one-line
# introductions are push alerts, CNN/DM's highlights story cards); rows may say their own.
DATASET_FORMATS: dict[str, Format] = {"xsum": "brief", "cnndm": "highlights", "cnn": "highlights", "dm": "highlights"}
WHO_WROTE = {
    "xsum": "published (BBC introduction)",
    "cnndm": "published (CNN/DailyMail highlights)",
    "cnn": "published (CNN/DailyMail highlights)",
    "dm": "published (CNN/DailyMail highlights)",
    "newsroom": "published (Newsroom summary)",
    "writer": "hired news writer (Zhang et al. 2023)",
    EDITOR_DATASET: "newsburst editor (desk edit)",
}


@dataclass(frozen=True)
class ReferenceRow:
    id: str
    article: str
    reference: str
    format: Format
    written_by: str


@dataclass
class ReferenceReport:
    """What was kept and why the rest was dropped, per format."""

    kept: Counter = field(default_factory=Counter)
    unsupported: Counter = field(default_factory=Counter)
    lower_cased: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "kept": dict(self.kept),
            "dropped_unsupported_claims": dict(self.unsupported),
            "dropped_lower_cased": dict(self.lower_cased),
        }


def dataset_of(row: dict) -> str:
    """``dataset`` when the row names it, else the id's prefix ("xsum-123", "cnn-test-...")."""
    return str(row.get("dataset") or str(row["id"]).split("-", 1)[0]).lower()


def format_of(row: dict) -> Format:
    fmt = row.get("format") or DATASET_FORMATS.get(dataset_of(row), "highlights")
    if fmt not in FORMATS:
        raise ValueError(f"row {row['id']}: unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def lower_cased(text: str) -> bool:
    letters = sum(c.isalpha() for c in text)
    return letters > 0 and sum(c.isupper() for c in text) / letters < 0.01


def reference_rows(rows: list[dict]) -> tuple[list[ReferenceRow], ReferenceReport]:
    """The rows worth learning from, with the count of each kind dropped."""
    kept, report = [], ReferenceReport()
    for row in rows:
        fmt = format_of(row)
        if lower_cased(row["article"]) or lower_cased(row["reference"]):
            report.lower_cased[fmt] += 1
        elif check(row["reference"], row["article"]).flagged:
            report.unsupported[fmt] += 1
        else:
            report.kept[fmt] += 1
            who = row.get("written_by") or WHO_WROTE.get(dataset_of(row), "published")
            reference = " ".join(row["reference"].replace("``", '"').replace("''", '"').split())
            kept.append(ReferenceRow(str(row["id"]), row["article"], reference, fmt, who))
    return kept, report
