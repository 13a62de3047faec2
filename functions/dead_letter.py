"""Dead letters for items that no queue will retry: bad S3 objects, bad EventBridge details.

SQS items fail back to their queue (whose redrive policy reaches the DLQ); everything else
lands here with the reason and the raw payload, so nothing is silently dropped.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path

from functions.folder_queue import FolderQueue

SQS_MAX_BYTES = 256 * 1024  # an SQS message body


@dataclass(frozen=True)
class DeadLetter:
    source: str  # "s3" | "eventbridge" | "api" ...
    reason: str
    item_id: str | None
    payload: str  # the raw input, to replay after a fix

    def to_json(self, max_bytes: int = SQS_MAX_BYTES) -> str:
        """Non-ASCII text as itself (escaped, a Cyrillic article grew six-fold past SQS's limit);
        a payload that still does not fit is cut, and the letter says so."""
        letter = {**asdict(self), "failed_at": time.time()}
        body = json.dumps(letter, ensure_ascii=False)
        over = len(body.encode("utf-8")) - max_bytes
        if over <= 0:
            return body
        payload = self.payload.encode("utf-8")
        kept = payload[: max(0, len(payload) - over - 64)]
        letter |= {"payload": kept.decode("utf-8", "ignore"), "payload_truncated": True}
        return json.dumps(letter, ensure_ascii=False)


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
        self.queue = FolderQueue(folder)

    def put(self, letter: DeadLetter) -> None:
        self.queue.put(letter.to_json())
