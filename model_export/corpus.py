"""Real news text that ships inside a package, split into train and held-out articles.

Source: ``gensim/test/test_data/lee_background.cor`` in gensim's wheel: 300 ABC (Australian
Broadcasting Corporation) news articles of ~200 words, the background corpus of Lee, Pincombe
& Welsh (2005), one article per line. Every 10th article (ids 0, 10, ... 290) is held out for
evaluation and never used for distillation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from model_export.errors import ExportError

HELD_OUT_EVERY = 10


@dataclass(frozen=True)
class Article:
    id: str
    text: str


def lee_corpus_path() -> Path:
    try:
        import gensim
    except ImportError:
        raise ExportError("the news corpus ships with gensim: pip install gensim") from None
    path = Path(gensim.__file__).parent / "test" / "test_data" / "lee_background.cor"
    if not path.exists():
        raise ExportError(f"gensim is installed but its news corpus is missing: {path}")
    return path


def load_articles(path: Path | None = None) -> list[Article]:
    lines = (path or lee_corpus_path()).read_text(encoding="utf-8").splitlines()
    return [Article(id=f"lee-{i:03d}", text=line.strip()) for i, line in enumerate(lines) if line.strip()]


def split(articles: list[Article]) -> tuple[list[Article], list[Article]]:
    """(train, held_out), deterministic by position."""
    train = [a for i, a in enumerate(articles) if i % HELD_OUT_EVERY]
    held = [a for i, a in enumerate(articles) if not i % HELD_OUT_EVERY]
    return train, held


def read_eval_jsonl(path: Path, fields: frozenset[str] = frozenset({"id", "article", "reference"})) -> list[dict]:
    """Lines of ``{"id", "article", "reference"}``; raises ExportError naming the bad line."""
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ExportError(f"{path}:{n}: not JSON ({exc.msg})") from None
        missing = fields - row.keys() if isinstance(row, dict) else fields
        if not missing and not (isinstance(row["article"], str) and row["article"].strip()):
            raise ExportError(f"{path}:{n}: 'article' must be non-empty text")
        if missing:
            raise ExportError(f"{path}:{n}: missing field(s) {', '.join(sorted(missing))}")
        rows.append(row)
    if not rows:
        raise ExportError(f"{path}: no evaluation rows")
    return rows


def read_rows(path: Path) -> list[dict]:
    """Extra training rows (``--extra-articles``): JSONL lines with at least id and article; a
    ``reference`` (a human-written summary) makes the row a fine-tuning example."""
    return read_eval_jsonl(path, frozenset({"id", "article"}))


HELD_OUT_REFERENCES = Path(__file__).parent / "data" / "lee_heldout_refs.jsonl"


def held_out_references() -> dict[str, str]:
    """Reference summaries of the held-out articles, by id. Written for this project, not a
    published data set (see data/README.md): a smoke set, not the measure of quality."""
    return {row["id"]: row["reference"] for row in read_eval_jsonl(HELD_OUT_REFERENCES)}
