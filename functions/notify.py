"""Editor notifications: a SummaryReady message to SNS and/or EventBridge, or a JSONL outbox."""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from pathlib import Path

from functions.schemas import SummaryReady

DETAIL_TYPE = "SummaryReady"
SOURCE = "newsburst"


class NotifyError(RuntimeError):
    pass


class Notifier(ABC):
    @abstractmethod
    def send(self, message: SummaryReady) -> None: ...


class SnsNotifier(Notifier):
    def __init__(self, client, topic_arn: str):
        self.sns, self.topic_arn = client, topic_arn

    def send(self, message: SummaryReady) -> None:
        self.sns.publish(
            TopicArn=self.topic_arn,
            Message=message.model_dump_json(),
            MessageAttributes={  # lets editors' subscriptions filter on flags without parsing JSON
                "event": {"DataType": "String", "StringValue": DETAIL_TYPE},
                "flagged": {"DataType": "String", "StringValue": str(message.faithfulness.flagged).lower()},
                "fallback": {"DataType": "String", "StringValue": str(message.fallback).lower()},
            },
        )


class EventBridgeNotifier(Notifier):
    def __init__(self, client, bus_name: str):
        self.events, self.bus_name = client, bus_name

    def send(self, message: SummaryReady) -> None:
        entry = {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": message.model_dump_json()}
        resp = self.events.put_events(Entries=[entry | {"EventBusName": self.bus_name}])
        if resp.get("FailedEntryCount"):
            raise NotifyError(f"EventBridge refused the event: {resp['Entries'][0].get('ErrorCode')}")


class OutboxNotifier(Notifier):
    """The embedded default: one JSON line per notification, appended atomically."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, message: SummaryReady) -> None:
        line = (json.dumps({"type": DETAIL_TYPE, **message.model_dump(mode="json")}) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write() with O_APPEND: concurrent writers never interleave a line
        finally:
            os.close(fd)


class FanOut(Notifier):
    def __init__(self, notifiers: list[Notifier]):
        self.notifiers = notifiers

    def send(self, message: SummaryReady) -> None:
        for notifier in self.notifiers:
            notifier.send(message)
