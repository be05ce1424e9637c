"""One line per request: when, who, what, the status, how long, and the verdict.

A pure ASGI middleware: it watches the response's status go by and never reads
or copies a body, so a line costs a few microseconds. The path is logged
without its query string, which may carry the api key. Analyze routes leave
their verdict in the request's state (:func:`set_verdict`); every other
request logs ``-``.

Lines are written synchronously to the stream given (stderr): a stream that
nobody reads fills up and stalls the server, which is why the ``pekat_vision``
launcher (whose output PEKAT's SDKs stop reading once it is up) logs none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..results import Verdict
from .settings import LogFormat

__all__ = ["RequestLog", "set_verdict"]

_STATE_KEY = "verdict"


def set_verdict(request: Request, verdict: Verdict) -> None:
    """Tell the request log what this request concluded (stored in the ASGI scope's state)."""
    setattr(request.state, _STATE_KEY, verdict)


class RequestLog:
    """ASGI middleware writing one line per HTTP request through ``write``."""

    def __init__(
        self,
        app: ASGIApp,
        write: Callable[[str], object],
        log_format: LogFormat = "text",
        only_status: int | None = None,
    ) -> None:
        self.app = app
        self._write = write
        self._line = _json_line if log_format == "json" else _text_line
        #: Log only answers with this status (``--quiet`` keeps the 401s).
        self._only_status = only_status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # An app that raises before answering is answered 500 by Starlette's
        # outermost middleware, which sits outside this one.
        status = 500
        answered: float | None = None

        async def watch(message: Message) -> None:
            nonlocal status, answered
            await send(message)
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                answered = time.perf_counter()  # before any background task (/stop) runs

        try:
            await self.app(scope, receive, watch)
        finally:
            if self._only_status is None or status == self._only_status:
                self._log(scope, status, ((answered or time.perf_counter()) - started) * 1000)

    def _log(self, scope: Scope, status: int, ms: float) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        client = scope.get("client")
        self._write(
            self._line(
                datetime.now().astimezone().isoformat(timespec="milliseconds"),
                f"{client[0]}:{client[1]}" if client else "-",
                scope["method"],
                _loggable(scope["path"]),
                status,
                ms,
                state.get(_STATE_KEY, "-"),
            )
        )


def _loggable(path: str) -> str:
    """The path as one token: it arrives percent-decoded, so a client could put
    spaces or a newline in it to forge log lines."""
    if path.isprintable() and " " not in path:
        return path
    return quote(path, safe="/")


def _text_line(
    when: str, client: str, method: str, path: str, status: int, ms: float, verdict: str
) -> str:
    return f"{when} {client} {method} {path} {status} {ms:.1f}ms {verdict}\n"


def _json_line(
    when: str, client: str, method: str, path: str, status: int, ms: float, verdict: str
) -> str:
    record = {
        "time": when, "client": client, "method": method, "path": path,
        "status": status, "ms": round(ms, 3), "result": verdict,
    }
    return orjson.dumps(record).decode("utf-8") + "\n"
