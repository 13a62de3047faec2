"""SQS: up to 10 news items per batch, with partial batch failure reporting.

The valid items are summarized together first (one batched generation); Powertools'
BatchProcessor then reports each record from those outcomes, so failed records alone go
back to the queue, retry, and reach the DLQ through its redrive policy.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.app import App
from functions.handlers.settle import dead_letter
from functions.parsing import BadInput, parse_item
from functions.pipeline import ItemFailure


class ItemFailed(RuntimeError):
    pass


def _addressable(record: object) -> bool:
    return isinstance(record, dict) and isinstance(record.get("messageId"), str) and bool(record["messageId"])


def handle(event: dict, context, app: App) -> dict:
    deadline = app.deadline_of(context)
    outcomes: dict[str, object] = {}
    valid = []
    records = event.get("Records", [])
    records = records if isinstance(records, list) else []
    # A record SQS never sends (not an object, no messageId) cannot be handed back on its own:
    # it goes to the dead-letter sink, and the rest of the batch goes on without it.
    for record in [r for r in records if not _addressable(r)]:
        dead_letter(app, "sqs", "record is not an SQS message (no messageId)", None, str(record)[:4096])
    records = [r for r in records if _addressable(r)]
    for record in records:
        body = record.get("body")
        try:
            if not isinstance(body, str):
                raise BadInput(f"record body must be text, not {type(body).__name__}", 400)
            valid.append((record["messageId"], parse_item(body.encode("utf-8", "surrogatepass"))))
        except BadInput as exc:
            outcomes[record["messageId"]] = ItemFailure("", exc.reason, False)
    for (message_id, _), outcome in zip(valid, app.pipeline.run([item for _, item in valid], deadline), strict=True):
        outcomes[message_id] = outcome

    def record_handler(record: SQSRecord) -> str:
        outcome = outcomes[record.message_id]
        if isinstance(outcome, ItemFailure):
            app.logger.warning("record failed", extra={"message_id": record.message_id, "reason": outcome.reason})
            raise ItemFailed(outcome.reason)
        return outcome.id

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    addressed = {**event, "Records": records}
    return process_partial_response(
        event=addressed, record_handler=record_handler, processor=processor, context=context
    )
