"""Dead letters for items that no queue will retry: bad S3 objects, bad EventBridge details.

SQS items fail back to their queue (whose redrive policy reaches the DLQ); everything else
lands here with the reason and the raw payload, so nothing is silently dropped.
"""

from __future__ import annotations

import json
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class DeadLetter:
    source: str  # "s3" | "eventbridge" | "api" ...
    reason: str
    item_id: str | None
    payload: str  # the raw input, to replay after a fix

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "failed_at": time.time()})


class DeadLetters(ABC):
    @abstractmethod
    def put(self, letter: DeadLetter) -> None: ...


class SqsDeadLetters(DeadLetters):
    def __init__(self, client, queue_url: str):
        self.sqs, self.queue_url = client, queue_url

    def put(self, letter: DeadLetter) -> None:
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=letter.to_json(),
            MessageAttributes={"source": {"DataType": "String", "StringValue": letter.source}},
        )


class FolderDeadLetters(DeadLetters):
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def put(self, letter: DeadLetter) -> None:
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"  # sorts in arrival order
        (self.folder / name).write_text(letter.to_json())
