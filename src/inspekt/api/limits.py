"""Connection-level limits that uvicorn does not enforce by itself.

uvicorn starts its keep-alive timer only after a response, so a client that
connects and then trickles its request headers (slow-loris) would hold a
connection forever. :class:`HeaderTimeoutProtocol` closes any connection whose
request headers are not complete within ``header_timeout`` seconds. Body
timeouts are enforced where the body is read (``api/body.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["header_timeout_protocol"]


def header_timeout_protocol(seconds: float) -> type[HttpToolsProtocol]:
    """An httptools protocol class that drops connections slow to send headers."""

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_header_timer()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._start_header_timer()

        def on_headers_complete(self) -> None:
            self._cancel_header_timer()
            super().on_headers_complete()

        def connection_lost(self, exc: Any) -> None:
            self._cancel_header_timer()
            super().connection_lost(exc)

        def _start_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def _cancel_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol
