"""The news items a load test or a profile sends: real articles, with wire copies among them."""

from __future__ import annotations

import random
from pathlib import Path

from model_export.corpus import load_articles, read_eval_jsonl


def jsonl_items(path: Path) -> list[dict]:
    """A JSONL file with id and article (the shared dev sets) as news items without titles."""
    rows = read_eval_jsonl(path, frozenset({"id", "article"}))
    return [{"id": r["id"], "title": "", "body": r["article"]} for r in rows]


def news_items(n: int, repeat: float = 0.0, articles: Path | None = None, seed: int = 0) -> list[dict]:
    """``n`` items: unique articles (the Lee/ABC corpus, or a JSONL file with id and article such
    as ../shared/news/xsum_dev.jsonl), then repeats of earlier ones under new ids (the same story
    from another wire, a cache hit by its text), shuffled."""
    rng = random.Random(seed)
    if articles is None:
        pool = [(f"lee-{a.id}", a.text) for a in load_articles()]
    else:
        pool = [(item["id"], item["body"]) for item in jsonl_items(articles)]
    unique_n = max(1, round(n * (1 - repeat))) if n else 0
    if unique_n > len(pool):
        raise ValueError(f"{unique_n} unique articles asked for, {len(pool)} available")
    unique = [{"id": i, "title": text[:60], "body": text} for i, text in pool[:unique_n]]
    repeats = [dict(rng.choice(unique), id=f"copy-{k}") for k in range(n - len(unique))]
    items = unique + repeats
    rng.shuffle(items)
    return items
