"""The editors' desk over real HTTP: the pipeline records stories, the page's API lists and
streams them with their evidence, summarize-now streams tokens (locally and through the GPU
endpoint's SSE), verdicts are stored, counted and exported; the same app behind the HTTP API
through Mangum; and the refusals (cross-site, not JSON, too big, incomplete)."""

from __future__ import annotations

import json
import threading
import time

import sseclient
import urllib3

from functions.cli import main
from functions.desk_records.verdicts import EDITOR_DATASET
from functions.handlers import router
from functions.local_invoke import LocalContext, sqs_event
from model_export.corpus import read_eval_jsonl
from model_export.references import reference_rows
from tests.factories import http_event, long_item, news_item

JSON = {"Content-Type": "application/json"}


def _deliver(*items: dict) -> None:
    result = router.handler(sqs_event([json.dumps(i) for i in items]), LocalContext())
    assert result["batchItemFailures"] == []


def _get(url: str) -> dict:
    resp = urllib3.request("GET", url, retries=False)
    assert resp.status == 200, resp.data
    return resp.json()


def _post(url: str, body, headers: dict | None = None) -> urllib3.BaseHTTPResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return urllib3.request("POST", url, body=data, headers=JSON if headers is None else headers, retries=False)


def _events(url: str, body: dict) -> list[tuple[str, dict, float]]:
    """A summarize-now stream as (event, data, seconds since the request) in arrival order."""
    start = time.perf_counter()
    resp = urllib3.PoolManager().request(
        "POST", url, body=json.dumps(body), headers=JSON | {"Accept": "text/event-stream"}, preload_content=False
    )
    assert resp.status == 200
    return [(e.event, json.loads(e.data), time.perf_counter() - start) for e in sseclient.SSEClient(resp).events()]


def test_delivered_stories_are_listed_with_their_evidence_and_new_ones_stream_in(make_app, serve_desk):
    app = make_app()
    _deliver(news_item())
    with serve_desk(app) as url:
        first = _get(f"{url}/desk/api/stories")
        (story,) = first["stories"]
        assert story["id"] == news_item()["id"] and story["title"] == news_item()["title"]
        assert story["summary"] and story["route"] == "local" and story["format"] == app.settings.format
        body = news_item()["body"]
        for ev in story["evidence"]:  # every mark points at the summary, and a supported one at its article
            assert story["summary"][ev["start"] : ev["end"]] == ev["text"]
            for a, b in ev["sources"]:
                assert ev["supported"] and body[a:b]
            if ev["sentence"]:
                assert ev["sentence"] in body
        assert "body" not in json.dumps(first["stories"])  # the page never gets the article itself

        got: list[dict] = []
        stream = urllib3.PoolManager()  # its own connection: the stream holds it open
        resp = stream.request(
            "GET", f"{url}/desk/api/stream?since={first['cursor']}", preload_content=False, timeout=30
        )
        reader = threading.Thread(
            target=lambda: got.extend(
                json.loads(e.data) for e, _ in zip(sseclient.SSEClient(resp).events(), range(1), strict=False)
            ),
            daemon=True,
        )
        reader.start()
        _deliver(news_item("lee-020"))
        reader.join(timeout=20)
        stream.clear()
        assert [s["id"] for s in got] == [news_item("lee-020")["id"]]
        assert _get(f"{url}/desk/api/stories?since={first['cursor']}")["stories"][0]["key"] == got[0]["key"]


def test_summarize_now_streams_tokens_then_the_result_and_records_the_story(make_app, serve_desk):
    app = make_app()
    item = news_item("lee-290")
    with serve_desk(app) as url:
        events = _events(f"{url}/desk/api/summarize", {"title": item["title"], "body": item["body"]})
        kinds = [e for e, _, _ in events]
        assert kinds[-1] == "result" and kinds.count("token") >= 2 and set(kinds) == {"token", "result"}
        result = events[-1][1]
        streamed = "".join(d["text"] for e, d, _ in events if e == "token")
        assert result["summary"] and result["summary"].split()[0] in streamed  # what was streamed is what was kept
        assert result["route"] == "local" and result["id"].startswith("desk-")
        assert events[0][2] < events[-1][2]  # the first token came before the end
        listed = _get(f"{url}/desk/api/stories")["stories"]
        assert [s["key"] for s in listed] == [result["key"]]


def test_summarize_now_over_the_local_budget_streams_from_the_gpu_endpoint(
    make_app, serve_desk, start_endpoint, tiny_export
):
    teacher = tiny_export[0] / "teacher"
    with start_endpoint(teacher, secret="s3cret") as endpoint:
        app = make_app(endpoint_url=endpoint, endpoint_secret="s3cret")
        with serve_desk(app) as url:
            events = _events(f"{url}/desk/api/summarize", {"body": long_item()["body"], "format": "brief"})
    kinds = [e for e, _, _ in events]
    assert kinds[-1] == "result" and "token" in kinds
    result = events[-1][1]
    assert result["route"] == "escalate" and result["escalation_reason"] == "over_budget"
    assert result["model_version"] == json.loads((teacher / "manifest.json").read_text())["version"]
    assert result["format"] == "brief"


def test_verdicts_are_stored_counted_and_edits_export_as_editor_references(
    make_app, serve_desk, capfd, tmp_path, monkeypatch
):
    app = make_app()
    _deliver(news_item(), news_item("lee-020"))
    with serve_desk(app) as url:
        one, two = _get(f"{url}/desk/api/stories")["stories"]
        assert (
            _post(f"{url}/desk/api/verdicts", {"story": one["key"], "verdict": "reject", "reason": "wrong_fact"}).status
            == 201
        )
        edited = "Officials said the flood crews worked through the night."
        resp = _post(f"{url}/desk/api/verdicts", {"story": one["key"], "verdict": "edit", "summary": edited})
        assert resp.status == 201 and resp.json()["id"] == one["id"]
        assert _post(f"{url}/desk/api/verdicts", {"story": two["key"], "verdict": "approve"}).status == 201
        latest = {v["story"]: v["verdict"] for v in _get(f"{url}/desk/api/verdicts")["verdicts"]}
        assert latest == {one["key"]: "edit", two["key"]: "approve"}
        again = {s["key"]: s.get("verdict", {}).get("verdict") for s in _get(f"{url}/desk/api/stories")["stories"]}
        assert again == latest  # a reload shows how each story was judged
    metrics = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    names = [(m["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], m.get("reason")) for m in metrics]
    verdicts = [n for n in names if n[0].startswith("Editor")]
    assert verdicts == [
        ("EditorRejected", None), ("EditorRejected", "wrong_fact"), ("EditorEdited", None), ("EditorApproved", None),
    ]  # fmt: skip

    out = tmp_path / "feedback.jsonl"
    monkeypatch.setenv("NEWSBURST_DESK_DIR", str(app.settings.desk_dir))
    assert main(["desk", "export", "--out", str(out), "--json"]) == 0
    assert json.loads(capfd.readouterr().out) == {"out": str(out), "rows": 1, "verdicts": {"edit": 1, "approve": 1}}
    (row,) = read_eval_jsonl(out)  # what `newsburst eval --data` reads
    assert row["reference"] == edited and row["article"] == news_item()["body"] and row["dataset"] == EDITOR_DATASET
    assert row["model_summary"] == one["summary"] and row["format"] == one["format"]
    kept, _ = reference_rows(read_eval_jsonl(out))  # ... and `newsburst export --extra-articles`
    assert [(r.reference, r.written_by) for r in kept] == [(edited, "newsburst editor (desk edit)")]


def test_the_desk_refuses_cross_site_untyped_oversized_and_incomplete_posts(make_app, serve_desk):
    app = make_app()
    _deliver(news_item())
    with serve_desk(app) as url:
        (story,) = _get(f"{url}/desk/api/stories")["stories"]
        verdicts = f"{url}/desk/api/verdicts"
        approve = {"story": story["key"], "verdict": "approve"}
        assert _post(verdicts, approve, JSON | {"Origin": "https://evil.example"}).status == 403
        assert _post(verdicts, approve, JSON | {"Sec-Fetch-Site": "cross-site"}).status == 403
        assert _post(verdicts, approve, {"Content-Type": "text/plain"}).status == 415  # a plain form post
        assert _post(verdicts, b"x" * 20_000).status == 413
        assert _post(verdicts, {"story": story["key"], "verdict": "reject"}).status == 400  # no reason
        assert _post(verdicts, {"story": story["key"], "verdict": "edit"}).status == 400  # no text
        assert _post(verdicts, {"story": "../../etc/passwd", "verdict": "approve"}).status == 400
        missing = story["key"].replace(story["key"][-13:-5], "00000000")
        assert _post(verdicts, {"story": missing, "verdict": "approve"}).status == 404
        assert _post(f"{url}/desk/api/summarize", b"{" + b" " * 300_000 + b"}").status == 413
        assert _post(f"{url}/desk/api/summarize", {"body": "  "}).status == 400
        assert _get(f"{url}/desk/api/verdicts")["verdicts"] == []  # nothing refused was stored
        page = urllib3.request("GET", f"{url}/desk")
        assert page.status == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_the_same_routes_answer_behind_the_http_api_through_mangum(make_app):
    make_app()
    _deliver(news_item())
    listed = router.handler(http_event("", path="/desk/api/stories", method="GET"), LocalContext())
    assert listed["statusCode"] == 200
    (story,) = json.loads(listed["body"])["stories"]
    assert (
        json.loads(router.handler(http_event("", "/desk/api/config", "GET"), LocalContext())["body"])["streaming"]
        is False
    )
    assert router.handler(http_event("", "/desk/api/stream", "GET"), LocalContext())["statusCode"] == 404
    post = http_event(json.dumps({"story": story["key"], "verdict": "approve"}), "/desk/api/verdicts")
    post["headers"]["content-type"] = "application/json"
    assert router.handler(post, LocalContext())["statusCode"] == 201
    page = router.handler(http_event("", "/desk", "GET"), LocalContext())
    assert page["statusCode"] == 200 and "<title>newsburst desk</title>" in page["body"]
