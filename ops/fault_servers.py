"""Loopback servers that misbehave on purpose, standing in for the GPU endpoint or S3: the chaos
bench and the tests share them.

``stand_in``: one HTTP server, many behaviours: ``answer(request)`` returns the status, content
type and body of each call, after ``delay(request)`` seconds; every request is kept, so callers
can count calls. ``raw_server``: below HTTP, the faults a client library cannot time out on its
own: ``trickle`` (a status line, then a header line every 0.3 s for ever); ``slow`` and ``silent``
(read the request and never answer).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


Answer = Callable[[Request], tuple[int, str, bytes]]  # -> status, content type, body


@contextmanager
def stand_in(answer: Answer, delay: Callable[[Request], float] = lambda r: 0.0) -> Iterator[tuple[str, list]]:
    requests: list[Request] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, self.path, self.rfile.read(length) if length else b"")
            wait = delay(request)  # decided before the request is counted: "the first call" means it
            requests.append(request)
            time.sleep(wait)
            status, content_type, body = answer(request)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _answer

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # clients that time out hang up on purpose; the broken pipe is expected

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()


@contextmanager
def raw_server(behaviour: str) -> Iterator[str]:
    """A raw loopback server: ``slow`` answers after 30 s, ``trickle`` sends a header line every
    0.3 s forever, ``silent`` accepts and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.2)
            try:
                conn.recv(65536)
                if behaviour == "trickle":
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while not stop.wait(0.3):
                    if behaviour == "trickle":
                        conn.sendall(b"X-Wait: 1\r\n")
            except OSError:
                pass

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
