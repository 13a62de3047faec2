"""The GPU endpoint server under hostile traffic on loopback: lying and oversized bodies,
half-open connections, slow clients, and a burst of JSON and streaming requests over the queue
bound. Every loop here is bounded in count and time."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlparse

import urllib3

from tests.concurrency import run_concurrently
from tests.factories import news_item

SECRET = "load-test-secret"


def _raw(url: str, request: bytes, read_s: float = 10) -> bytes:
    """Send raw bytes, return whatever the server answers before closing or ``read_s``."""
    u = urlparse(url)
    with socket.create_connection((u.hostname, u.port), timeout=read_s) as s:
        s.sendall(request)
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
                if b"\r\n\r\n" in data:
                    break
        except TimeoutError:
            pass
        return data


def _post(url, payload, **headers):
    headers.setdefault("X-Newsburst-Secret", SECRET)
    return urllib3.request(
        "POST", f"{url}/invocations", body=json.dumps(payload).encode(), headers=headers, retries=False, timeout=60
    )


def test_lying_and_oversized_bodies_get_a_4xx_not_a_dropped_connection(start_endpoint, student_dir):
    with start_endpoint(student_dir, secret=SECRET) as url:
        head = f"POST /invocations HTTP/1.1\r\nHost: x\r\nX-Newsburst-Secret: {SECRET}\r\n"
        for length in ("-1", "abc"):
            answer = _raw(url, (head + f"Content-Length: {length}\r\n\r\n{{}}").encode())
            assert answer.startswith(b"HTTP/1.1 400"), answer[:80]
        big = 20 * 2**20
        answer = _raw(url, (head + f"Content-Length: {big}\r\n\r\n").encode() + b"x" * (17 * 2**20))
        assert answer.startswith(b"HTTP/1.1 413"), answer[:80]


def test_half_open_connections_and_slow_clients_do_not_starve_real_requests(start_endpoint, student_dir):
    with start_endpoint(student_dir, secret=SECRET) as url:
        u = urlparse(url)
        idle = []
        for _ in range(50):  # half-open: a request line and nothing more
            s = socket.create_connection((u.hostname, u.port), timeout=5)
            s.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\n")
            idle.append(s)
        slow = socket.create_connection((u.hostname, u.port), timeout=5)
        slow.sendall(f"POST /invocations HTTP/1.1\r\nHost: x\r\nX-Newsburst-Secret: {SECRET}\r\n".encode())
        slow.sendall(b"Content-Length: 1000\r\n\r\n{")  # then a byte now and then
        try:
            start = time.monotonic()
            assert urllib3.request("GET", f"{url}/ping", retries=False, timeout=10).status == 200
            resp = _post(url, {"items": [news_item()]})
            assert resp.status == 200 and time.monotonic() - start < 30
        finally:
            for s in [*idle, slow]:
                s.close()


def test_a_burst_of_json_and_streaming_over_the_queue_bound_gets_429s(start_endpoint, student_dir):
    with start_endpoint(student_dir, secret=SECRET, queue_size=2, max_batch=1, batch_window_ms=0) as url:

        def call(i: int):
            item = {"items": [news_item("lee-170", id=f"b{i}")]}
            return _post(url, item, Accept="text/event-stream") if i % 2 else _post(url, item)

        responses = run_concurrently(12, call)
    statuses = [r.status for r in responses]
    assert set(statuses) <= {200, 429} and statuses.count(429) >= 1 and statuses.count(200) >= 2
    streamed_429 = [r for i, r in enumerate(responses) if i % 2 and r.status == 429]
    assert streamed_429, "streaming requests must meet the same queue bound"
    assert all(r.headers["Retry-After"] == "1" for r in responses if r.status == 429)
    for i, r in enumerate(responses):
        if r.status == 200 and i % 2:
            assert "event: result" in r.data.decode()
