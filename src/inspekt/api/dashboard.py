"""The dashboard: its page and assets, the live event stream and the last image.

The page is three static files shipped in the package (no CDN, no build step). The
event stream sends the live numbers at most ``_UPDATES_PER_S`` times a second and
only when an inspection finished since the last event, so a line at 50 images a
second costs each browser a few small messages a second; the annotated image is
fetched by the browser when it is ready for the next one.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from importlib import resources

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from ..errors import NotFoundError
from .auth import viewed_service

__all__ = ["router"]

router = APIRouter()

_ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
_UPDATES_PER_S = 4
#: A comment this often keeps proxies from closing an idle stream.
_KEEP_ALIVE_S = 15.0


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("dashboard").joinpath(name).read_bytes()


@router.get("/", include_in_schema=False)
async def page() -> Response:
    """The dashboard page; it asks for the api key itself when the server has one."""
    return Response(_asset("index.html"), media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-cache"})


@router.get("/dashboard/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    if name not in _ASSETS:
        raise NotFoundError(f"no dashboard file {name!r}")
    return Response(_asset(name), media_type=_ASSETS[name], headers={"Cache-Control": "no-cache"})


# Not in the OpenAPI schema: a stream that never ends is no operation a client generator
# (or a schema fuzzer) can call like the others.
@router.get("/api/events", include_in_schema=False)
async def events(request: Request) -> Response:
    """Server-sent events: ``update`` with the live numbers, when they changed."""
    service = viewed_service(request)
    stopping = request.app.state.stopping

    async def stream() -> AsyncIterator[str]:
        with service.live.watching():
            async for event in updates():
                yield event

    async def updates() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        sent_seq, sent_at, problem = -1, 0.0, object()
        while not stopping() and not await request.is_disconnected():
            history = service.history
            now_problem = None if history is None else history.problem
            if service.live.seq != sent_seq or now_problem != problem:
                update = service.live.snapshot()
                update["recording"] = history is not None and history.ready
                update["problem"] = now_problem
                sent_seq = update["last"]["seq"] if update["last"] else 0
                problem = now_problem
                sent_at = time.monotonic()
                yield f"event: update\ndata: {json.dumps(update)}\n\n"
            elif time.monotonic() - sent_at > _KEEP_ALIVE_S:
                sent_at = time.monotonic()
                yield ": keep-alive\n\n"
            await asyncio.sleep(1 / _UPDATES_PER_S)

    return StreamingResponse(
        stream(), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/api/live/annotated.jpg")
async def live_annotated(request: Request) -> Response:
    """The last inspection's annotated image (``seq`` in the URL only defeats caches)."""
    service = viewed_service(request)
    jpeg = await run_in_threadpool(service.live.annotated_jpeg)
    if jpeg is None:
        raise NotFoundError("no image analysed yet")
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
