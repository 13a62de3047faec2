"""Handing an item to the items queue: what the HTTP API does with a summary it cannot finish in time.

The SQS trigger then summarizes it with a fresh deadline and files it in the response cache,
where ``GET /summaries/{key}`` finds it. The local twin is a folder of item files.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from functions.folder_queue import FolderQueue
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
        self.queue = FolderQueue(folder)

    def put(self, item: NewsItem) -> None:
        self.queue.put(item.model_dump_json(exclude_none=True))
