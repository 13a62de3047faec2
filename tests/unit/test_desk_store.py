"""The desk's storage rules: arrival-ordered keys, whole-or-absent writes, and complete verdicts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.desk_records.feed import DeskFeed
from functions.desk_records.verdicts import VerdictIn
from functions.objects import FolderObjects, StoreError, is_key, new_key


def test_keys_sort_in_arrival_order_across_days_and_milliseconds():
    times = [1_796_000_000.001, 1_796_000_000.002, 1_796_000_000.002, 1_796_086_400.0]
    keys = [new_key("feed", t) for t in times]
    assert keys[0] < min(keys[1], keys[2]) and max(keys[1], keys[2]) < keys[3]  # a same-millisecond tie: either way
    assert keys[1] != keys[2] and keys[0].split("/")[1] < keys[3].split("/")[1]  # and a new day sorts after
    assert all(is_key("feed", k) for k in keys) and not is_key("verdicts", keys[0])


def test_a_write_that_died_half_way_is_never_listed_or_read(tmp_path):
    store = FolderObjects(tmp_path)
    key = new_key("feed")
    store.put(key, {"story": {"id": "a"}, "article": {}})
    (tmp_path / key).with_name(".tmp-deadbeef").write_text('{"story": {"id": "half')  # a crash mid-write
    assert store.keys("feed/") == [key] and store.get(key)["story"] == {"id": "a"}
    with pytest.raises(StoreError):
        store.put("../outside.json", {})


def test_the_feed_pages_forward_from_a_cursor_and_lists_the_latest_first_time(tmp_path):
    store = FolderObjects(tmp_path)
    keys = [new_key("feed", 1_796_000_000 + i) for i in range(5)]
    for i, key in enumerate(keys):
        store.put(key, {"story": {"id": f"s{i}"}, "article": {}})
    feed = DeskFeed(store)
    first, cursor = feed.since(limit=2)
    assert [s["id"] for s in first] == ["s3", "s4"] and cursor == keys[4]
    older, at = feed.since(keys[0], limit=2)
    assert [s["id"] for s in older] == ["s1", "s2"] and at == keys[2]  # a poll never skips one
    assert feed.since(keys[4]) == ([], keys[4])
    assert feed.record_of("../../etc/passwd") is None


@pytest.mark.parametrize(
    ("posted", "error"),
    [
        ({"verdict": "reject"}, "needs a reason"),
        ({"verdict": "edit"}, "needs the edited summary"),
        ({"verdict": "edit", "summary": "   "}, "needs the edited summary"),
        ({"verdict": "approve", "story": "feed/../x.json"}, "not a desk story key"),
        ({"verdict": "publish"}, "verdict"),
        ({"verdict": "approve", "extra": 1}, "extra"),
    ],
)
def test_an_incomplete_verdict_is_refused_with_its_reason(posted, error):
    with pytest.raises(ValidationError, match=error):
        VerdictIn.model_validate({"story": new_key("feed"), **posted})
