"""A deadline for a request's headers: a connection that has not sent a whole request head within
``seconds`` of opening (or of its previous answer) is closed.

uvicorn has no such timeout: ``timeout_keep_alive`` starts only after a first answer and restarts on
every byte, so a client trickling a header one byte at a time, or 260 that never send one
(slowloris), keep their connections, and uvicorn answers 503 to everyone, /ping included, once
they fill ``limit_concurrency``. No ASGI middleware can help: the app runs only after the head is
parsed. So the h11 protocol class is subclassed here (uvicorn takes one as ``http=``), the way
servers with a header timeout (nginx's ``client_header_timeout``, Go's ``ReadHeaderTimeout``) do
it. The body has its own bound in the app (``body_timeout_s``, answered 408).
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadlineProtocol(H11Protocol):
    header_timeout_s = 5.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._disarm_once_the_head_is_in()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():  # kept alive: the next request's head has the same bound
            self._arm()
            self._disarm_once_the_head_is_in()  # a pipelined one may be parsed already

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._head_too_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _disarm_once_the_head_is_in(self) -> None:
        if self.conn.their_state is not h11.IDLE:  # h11 leaves IDLE when a whole request head is parsed
            self._disarm()

    def _head_too_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.logger.warning("closed a connection that sent no whole request head in %.0f s", self.header_timeout_s)
            self.transport.close()


def with_header_timeout(seconds: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class for uvicorn's ``http=`` with this deployment's header timeout."""
    return type("HeaderDeadline", (HeaderDeadlineProtocol,), {"header_timeout_s": seconds})
