import json

import pytest

from functions.parsing import BadInput, parse_item
from functions.schemas import MAX_BODY_CHARS
from tests.factories import news_item


def _status(raw) -> tuple[int, str]:
    with pytest.raises(BadInput) as exc:
        parse_item(raw)
    return exc.value.status, exc.value.reason


def test_a_valid_item_parses_from_bytes_text_or_dict():
    item = news_item()
    for raw in (json.dumps(item).encode(), json.dumps(item), item):
        assert parse_item(raw).id == item["id"]


@pytest.mark.parametrize(
    ("raw", "status", "words"),
    [
        (b'{"id": "x", "body": "The minister', 400, "malformed JSON"),
        (b"\xff\xfe not utf-8", 400, "not UTF-8"),
        (b"[1, 2]", 422, "JSON object"),
        (json.dumps({"id": "x", "body": "   "}).encode(), 422, "body"),
        (json.dumps({"id": "x"}).encode(), 422, "body: Field required"),
        (json.dumps({"body": "text"}).encode(), 422, "id: Field required"),
        (json.dumps({"id": "x", "body": "a" * (MAX_BODY_CHARS + 1)}).encode(), 413, "body"),
        (b"x" * 300_000, 413, "limit"),
        (json.dumps({"id": "x", "body": "ok", "source_url": "not a url"}).encode(), 422, "source_url"),
    ],
)
def test_bad_input_gets_one_reason_and_the_status_that_fits(raw, status, words):
    got_status, reason = _status(raw)
    assert got_status == status and words in reason


def test_reasons_never_echo_the_article_text():
    secret_body = "Zanzibar negotiations collapsed overnight " * 2000  # too long
    _, reason = _status(json.dumps({"id": "x", "body": secret_body}).encode())
    assert "Zanzibar" not in reason
