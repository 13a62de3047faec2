"""Handing an item to the items queue: what the HTTP API does with a summary it cannot finish in time.

The SQS trigger then summarizes it with a fresh deadline and files it in the response cache,
where ``GET /summaries/{key}`` finds it. The local twin is a folder of item files.
"""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from pathlib import Path

from functions.schemas import NewsItem


class Handoff(ABC):
    @abstractmethod
    def put(self, item: NewsItem) -> None: ...


class SqsHandoff(Handoff):
    def __init__(self, client, queue_url: str):
        self.sqs, self.queue_url = client, queue_url

    def put(self, item: NewsItem) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=item.model_dump_json(exclude_none=True))


class FolderHandoff(Handoff):
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def put(self, item: NewsItem) -> None:
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"  # sorts in arrival order
        (self.folder / name).write_text(item.model_dump_json(exclude_none=True))
