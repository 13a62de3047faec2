"""The stories the desk shows: each delivered summary with its article, under an arrival-ordered key.

The pipeline records one after each notification (a story is what an editor was sent). The
article stays here, server-side: the page gets the summary and its evidence (the sentences it
rests on), and the export reads the article back when an editor's edit becomes a reference.
"""

from __future__ import annotations

from functions.objects import Objects, is_key, new_key
from functions.schemas import NewsItem, SummaryReady

FEED = "feed"
MAX_STORIES = 200  # the most one listing returns


class DeskFeed:
    def __init__(self, objects: Objects):
        self.objects = objects

    def record(self, item: NewsItem, ready: SummaryReady) -> str:
        key = new_key(FEED)
        article = {"title": item.title, "body": item.body, "source_url": ready.source_url}
        self.objects.put(key, {"story": ready.model_dump(mode="json"), "article": article})
        return key

    def since(self, cursor: str | None = None, limit: int = MAX_STORIES) -> tuple[list[dict], str | None]:
        """Stories after ``cursor`` in arrival order (the latest ``limit`` when there is no cursor,
        the next ``limit`` when there is: a poll never skips one), and the cursor to ask from next."""
        keys = self.objects.keys(FEED + "/", after=cursor)
        keys = keys[:limit] if cursor else keys[-limit:]
        stories = [{"key": k, **record["story"]} for k in keys if (record := self.objects.get(k)) is not None]
        return stories, keys[-1] if keys else cursor

    def record_of(self, key: str) -> dict | None:
        return self.objects.get(key) if is_key(FEED, key) else None
