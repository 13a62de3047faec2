"""The GPU endpoint server as a real process on loopback, on the CPU provider."""

from __future__ import annotations

import json

import urllib3

from functions.endpoint.launch import wait_for_ping
from tests.concurrency import run_concurrently
from tests.factories import news_item

SECRET = "local-test-secret"


def _post(url: str, payload: object, secret: str | None = SECRET, **headers) -> urllib3.BaseHTTPResponse:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if secret:
        headers["X-Newsburst-Secret"] = secret
    return urllib3.request("POST", f"{url}/invocations", body=body, headers=headers, retries=False, timeout=60)


def test_ping_is_503_while_loading_then_200(start_endpoint, tiny_export):
    with start_endpoint(tiny_export[0] / "teacher", wait_ready=False) as url:
        first = urllib3.request("GET", f"{url}/ping", retries=False)
        assert first.status == 503 and first.json()["status"] == "loading"
        wait_for_ping(url)
        ready = urllib3.request("GET", f"{url}/ping").json()
        assert ready["status"] == "ok" and ready["provider"] == "CPUExecutionProvider"


def test_concurrent_requests_are_batched_and_auth_and_bad_payloads_are_refused(start_endpoint, student_dir):
    with start_endpoint(student_dir, secret=SECRET, batch_window_ms=200, max_batch=8) as url:
        items = [news_item(n, id=f"r{i}") for i, n in enumerate(["lee-020", "lee-170", "lee-290", "lee-020"])]
        responses = run_concurrently(4, lambda i: _post(url, {"items": [items[i]]}))
        bodies = [r.json() for r in responses]
        assert all(r.status == 200 for r in responses)
        assert [b["results"][0]["id"] for b in bodies] == ["r0", "r1", "r2", "r3"]
        assert max(b["batch_size"] for b in bodies) > 1  # generated together
        assert bodies[0]["results"][0]["summary"] == bodies[3]["results"][0]["summary"]  # same article, same text
        assert _post(url, {"items": [items[0]]}, secret=None).status == 401
        assert _post(url, {"items": [items[0]]}, secret="wrong").status == 401
        for bad, words in [
            (b"{not json", "Invalid JSON"),
            ({"items": []}, "items"),
            ({"items": [{"id": "x", "body": " "}]}, "body"),
            ({"items": [items[0]], "parameters": {"temperature": 2}}, "temperature"),
        ]:
            resp = _post(url, bad)
            assert resp.status == 400 and words in resp.json()["error"], resp.json()


def test_overload_answers_429_with_retry_after(start_endpoint, student_dir):
    with start_endpoint(student_dir, queue_size=1, max_batch=1, batch_window_ms=0) as url:
        responses = run_concurrently(
            12, lambda i: _post(url, {"items": [news_item("lee-170", id=f"o{i}")]}, secret=None)
        )
        statuses = sorted(r.status for r in responses)
        assert statuses.count(200) >= 1 and statuses.count(429) >= 1 and set(statuses) <= {200, 429}
        assert all(r.headers["Retry-After"] == "1" for r in responses if r.status == 429)


def test_streaming_sends_tokens_then_the_result(start_endpoint, student_dir):
    with start_endpoint(student_dir) as url:
        resp = _post(url, {"items": [news_item()]}, secret=None, Accept="text/event-stream")
        events = [block.split("\n") for block in resp.data.decode().strip().split("\n\n")]
        names = [e[0].removeprefix("event: ") for e in events]
        assert names[-1] == "result" and set(names[:-1]) == {"token"} and len(names) > 2
        result = json.loads(events[-1][1].removeprefix("data: "))
        streamed = "".join(json.loads(e[1].removeprefix("data: "))["text"] for e in events[:-1])
        # the result event is authoritative: a loop's first repeat is streamed before it is cut
        # and one paragraph: the result's white space is collapsed (runtime.loops.one_paragraph)
        assert result["summary"] and " ".join(streamed.split()).startswith(result["summary"].rstrip("."))


def test_the_server_refuses_to_start_without_a_secret_unless_auth_is_none(student_dir):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBURST_GPU_")}
    cmd = [sys.executable, "-m", "functions.endpoint.server", "--bundle", str(student_dir), "--port", "0"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "NEWSBURST_GPU_AUTH=none" in proc.stdout
    empty = subprocess.run(cmd, cwd=ROOT, env=env | {"NEWSBURST_GPU_SECRET": ""}, capture_output=True, text=True)
    assert empty.returncode == 2 and "unset or empty" in empty.stdout  # "" used to turn authentication off


def test_a_request_larger_than_max_batch_runs_in_batches_of_at_most_max_batch(start_endpoint, student_dir):
    with start_endpoint(student_dir, max_batch=4, batch_window_ms=0) as url:
        items = [news_item("lee-020", id=f"b{i}") for i in range(10)]
        resp = _post(url, {"items": items}, secret=None)
        assert resp.status == 200, resp.data[:200]
        body = resp.json()
        assert [r["id"] for r in body["results"]] == [f"b{i}" for i in range(10)]
        assert body["batch_size"] <= 4 and urllib3.request("GET", f"{url}/ping").json()["largest_batch"] <= 4


def test_a_declared_body_that_never_comes_is_answered_408_and_the_slot_freed(start_endpoint, student_dir):
    import socket
    import time
    from urllib.parse import urlsplit

    with start_endpoint(student_dir, secret=SECRET, body_timeout_s=1.0) as url:
        where = urlsplit(url)
        with socket.create_connection((where.hostname, where.port), timeout=10) as conn:
            conn.sendall(
                b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"X-Newsburst-Secret: {SECRET}\r\nContent-Length: 5000\r\n\r\n".encode()
                + b'{"items": ['  # and then nothing
            )
            started = time.monotonic()
            chunks = []
            while chunk := conn.recv(4096):  # the server closes the connection after its answer
                chunks.append(chunk)
            answer = b"".join(chunks).decode()
        assert answer.startswith("HTTP/1.1 408") and "not received within" in answer
        assert time.monotonic() - started < 5
        assert urllib3.request("GET", f"{url}/ping").status == 200


def test_connections_that_never_send_a_whole_head_are_closed_and_ping_recovers(start_endpoint, student_dir):
    """Slowloris: half-open connections fill the server's connection limit (every /ping answers
    503 while they are held) until the header deadline closes them, trickling ones included.
    Without the deadline each recv below waits out its 10 s socket timeout."""
    import socket
    import time
    from urllib.parse import urlsplit

    with start_endpoint(student_dir, secret=SECRET, max_connections=8, header_timeout_s=3.0) as url:
        where = urlsplit(url)
        held = [socket.create_connection((where.hostname, where.port), timeout=10) for _ in range(10)]
        for conn in held:
            conn.sendall(b"GET /ping HTTP/1.1\r\nHo")  # and then nothing
        opened = time.monotonic()
        for byte in b"st: x\r\nX-Trickle: " + b"a" * 30:  # a byte every 0.1 s (4 s) does not hold one either
            try:
                held[0].sendall(bytes([byte]))
            except OSError:
                break  # closed by the server
            time.sleep(0.1)  # the attacker's pace
        for conn in held:
            assert conn.recv(4096) == b""  # the server closed it, unanswered
            conn.close()
        assert time.monotonic() - opened < 8
        assert urllib3.request("GET", f"{url}/ping", retries=False).status == 200
