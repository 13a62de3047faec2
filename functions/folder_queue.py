"""The local twin of a queue: a folder of JSON files, one per message, named to sort in arrival order.

The dead-letter sink and the API's hand-off both fall back to it when no SQS queue is configured.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path


class FolderQueue:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def put(self, body: str) -> Path:
        path = self.folder / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"  # nanoseconds: sorts in arrival order
        path.write_text(body)
        return path
