"""S3 ObjectCreated: a news item JSON uploaded to the ingest bucket."""

from __future__ import annotations

from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3RecordModel
from pydantic import ValidationError

from functions.app import App
from functions.handlers.settle import dead_letter, settle
from functions.ingest import ObjectMissing
from functions.parsing import BadInput, parse_item
from functions.schemas import NewsItem, describe


def _records(event: dict, app: App, report: list) -> list[S3RecordModel]:
    """Each record parsed on its own: one of a shape S3 never sends (no ``object``) is dead-lettered
    alone instead of failing the whole event."""
    raw = event.get("Records")
    out = []
    for record in raw if isinstance(raw, list) else [raw]:
        try:
            out.append(S3RecordModel.model_validate(record))
        except ValidationError as exc:
            report.append(dead_letter(app, "s3", f"not an S3 event record: {describe(exc)}", None, str(record)[:4096]))
        except (AttributeError, TypeError):  # Powertools' own validator reads s3.object before checking it
            report.append(dead_letter(app, "s3", "not an S3 event record: no s3.object", None, str(record)[:4096]))
    return out


def handle(event: dict, context, app: App) -> dict:
    deadline = app.deadline_of(context)
    items: list[NewsItem] = []
    payloads: dict[str, str] = {}
    report: list[dict] = []
    records = _records(event, app, report)
    for record in records:
        bucket, key = record.s3.bucket.name, unquote_plus(record.s3.object.key)
        where = f"s3://{bucket}/{key}"
        try:
            raw = app.objects.read(bucket, key)
            item = parse_item(raw)
        except (BadInput, ObjectMissing) as exc:
            report.append(dead_letter(app, "s3", f"{where}: {exc}", None, where))
            continue
        items.append(item)
        payloads[item.id] = where  # the object stays in the bucket: the location is the replay handle
    report += settle(app, "s3", app.pipeline.run(items, deadline), items, payloads)
    return {"items": report}
