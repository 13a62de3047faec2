"""Breaking stories through the real pipeline: a rewrite is served its story's summary, an update
is summarized again and says what changed, an unrelated story stays apart, two containers racing
on one story over S3 (moto) make one story; and, for generated edits, the two zeros: no served
summary states a number or name its own article lacks, and two stories never share an id.

The summaries come from the LeadSummarizer stand-in (the article's first sentences), so a test
that changes one number knows which summary states it; everything else is the real pipeline."""

from __future__ import annotations

import json
import threading

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.runtime.guard import check
from functions.schemas import NewsItem
from tests.concurrency import run_concurrently
from tests.factories import news_item
from tests.stand_ins import lead_engine

FED = news_item("lee-170")


def _app(make_app, **overrides):
    app = make_app(**overrides)
    app.pipeline.engine = lead_engine(app)
    return app


def _run(app, **item):
    (result,) = app.pipeline.run([NewsItem.model_validate(item)])
    return result


def _rewrite(item: dict, n: int = 0) -> dict:
    """Another outlet's copy: its own headline, dateline and sign-off, the story unchanged."""
    body = f"WASHINGTON (Wire {n}) - {item['body']} Reporting by the wire desk {n}."
    return {**item, "id": f"{item['id']}-copy-{n}", "title": f"Fed slashes rates again ({n})", "body": body}


def _notes(app) -> list[dict]:
    path = app.settings.outbox_path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_rewrite_is_served_its_storys_summary_and_editors_are_not_told_twice(make_app):
    app = _app(make_app)
    first = _run(app, **FED)
    assert first.route == "local" and first.story.version == 1 and first.story.update_of is None
    copy = _run(app, **_rewrite(FED))
    assert copy.route == "story" and copy.summary == first.summary and copy.model_ms == 0
    assert copy.story.id == first.story.id and copy.story.version == 1
    assert check(copy.summary, _rewrite(FED)["body"]).unsupported_claims == []
    body = _rewrite(FED)["body"]
    assert all(body[a:b] for e in copy.evidence for a, b in e.sources)  # evidence located in the copy itself
    assert [n["id"] for n in _notes(app)] == [FED["id"]]  # NEWSBURST_STORY_NOTIFY=updates
    assert [s["id"] for s in app.desk_feed.since()[0]] == [FED["id"], copy.id]  # the desk keeps the thread
    assert copy.billed_ms > 0 and first.billed_ms > 0


def test_with_story_notify_all_a_reused_summary_is_sent_too(make_app):
    app = _app(make_app, story_notify="all")
    _run(app, **FED)
    _run(app, **_rewrite(FED))
    assert [n["route"] for n in _notes(app)] == ["local", "story"]


def test_an_update_is_summarized_again_and_says_which_facts_are_new_and_gone(make_app):
    app = _app(make_app)
    first = _run(app, **FED)
    update = {**FED, "id": "fed-update", "body": FED["body"].replace("1.75 per cent", "1.5 per cent", 1)}
    again = _run(app, **update)
    assert again.route == "local" and "1.5 per cent" in again.summary
    assert again.story.id == first.story.id and again.story.version == 2 and again.story.update_of == 1
    assert again.story.new_facts == ["1.5 per cent"] and again.story.gone_facts == ["1.75 per cent"]
    (_, note) = _notes(app)
    assert (note["story_id"], note["story_version"], note["update_of"]) == (first.story.id, 2, 1)
    assert note["new_facts"] == ["1.5 per cent"] and note["gone_facts"] == ["1.75 per cent"]
    assert _run(app, **_rewrite(update, 2)).summary == again.summary  # a copy of the update gets the update


def test_another_story_and_another_format_never_take_a_summary(make_app):
    app = _app(make_app)
    fed = _run(app, **FED)
    other = _run(app, **news_item("lee-290"))
    assert other.story.id != fed.story.id and other.route == "local"
    brief = _run(app, **{**_rewrite(FED, 3), "format": "brief"})
    assert brief.route == "local" and brief.story.id == fed.story.id and brief.story.update_of == 1


def test_two_containers_racing_on_one_story_make_one_story(make_app, aws):
    bucket = "stories-race"
    boto3.client("s3").create_bucket(Bucket=bucket)
    apps = [_app(make_app, cache_bucket=bucket) for _ in range(2)]
    both_looked = threading.Barrier(2)  # neither writes before both have found no story: a true race
    for app in apps:
        engine = app.pipeline.engine
        app.pipeline.engine = lambda engine=engine: (both_looked.wait(timeout=30), engine())[1]
    results = run_concurrently(2, lambda i: _run(apps[i], **_rewrite(FED, i)))
    assert [r.route for r in results] == ["local", "local"]
    assert results[0].story.id == results[1].story.id
    assert sorted(r.story.version for r in results) == [1, 2]
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="stories/story/")["Contents"]]
    assert len(keys) == 2 and len({k.split("/")[2] for k in keys}) == 1


# -- the two zeros, on generated edits --------------------------------------------------------
BASES = [news_item(n) for n in ("lee-170", "lee-020", "lee-290")]
NUMBER = r"\b\d+(?:\.\d+)?\b"


@st.composite
def edits(draw):
    """A base article as a burst brings it: maybe a rewrite, maybe an update with new numbers or a
    name changed, maybe trimmed at the end."""
    import re

    base = draw(st.sampled_from(range(len(BASES))))
    body = BASES[base]["body"]
    numbers = re.findall(NUMBER, body)
    for old in draw(st.lists(st.sampled_from(numbers), max_size=3, unique=True)) if numbers else []:
        body = body.replace(old, str(draw(st.integers(0, 999))), 1)
    if draw(st.booleans()):
        body = body.replace("Japan", "Korea", 1).replace("Argentine", "Chilean", 1).replace("Federal", "Central", 1)
    if draw(st.booleans()):
        body = body[: int(len(body) * draw(st.floats(0.6, 1.0)))]
    if draw(st.booleans()):
        body = f"NEW YORK (Wire) - {body} Reporting by the desk."
    return base, {"id": f"edit-{draw(st.integers(0, 10**6))}", "title": "t", "body": body}


@pytest.fixture()
def story_app(make_app):
    app = _app(make_app)
    ids = [_run(app, **b).story.id for b in BASES]
    assert len(set(ids)) == len(BASES)
    return app, ids


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edit=edits())
def test_no_stale_fact_and_no_false_merge_whatever_the_edit(story_app, edit):
    app, ids = story_app
    base, item = edit
    result = _run(app, **item)
    assert check(result.summary, item["body"]).unsupported_claims == []  # no stale fact delivered
    assert result.story is None or result.story.id not in set(ids) - {ids[base]}  # no false merge
