"""Liveness and readiness, metrics, version, remote stop, the last image and the OpenAPI
schema.

``/ping`` and ``/version`` stay open whatever the api key: PEKAT's SDKs poll
them before they send a key. ``/last_image`` shows what the line inspects and
the schema maps the server, so with a key on both need it like an analysis.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .auth import check_api_key, check_stop_key, viewed_service
from .errors import error_response
from .metrics import CONTENT_TYPE
from .service import InspectionService
from .settings import API_COMPAT_VERSION, API_VERSION_WITHOUT_SHARED_MEMORY

__all__ = ["router"]

router = APIRouter()


@router.get("/ping")
@router.head("/ping")
async def ping() -> Response:
    """200 once the project is loaded: the server only listens after loading it."""
    return PlainTextResponse("OK")


@router.get("/health/live")
async def health_live() -> Response:
    """200 while the server answers at all (the event loop is not stuck)."""
    return JSONResponse({"live": True})


@router.get("/health/ready")
async def health_ready(request: Request) -> Response:
    """200 when inspections can be answered and recorded: the project is loaded (it is
    before the server listens) and the history, when on, is being written; else 503
    with the reason."""
    service: InspectionService = request.app.state.service
    history = service.history
    checks: dict[str, object] = {"project": True}
    problems = []
    if history is not None:
        checks["history"] = history.ready
        if not history.ready:
            problems.append(f"history: {history.problem or 'the writer stopped'}")
    body = {"ready": not problems, "checks": checks, "problems": problems}
    return JSONResponse(body, status_code=200 if not problems else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus metrics; with an api key on, scrape with ``params: {api_key: [K]}`` (the
    key or the viewer password)."""
    service = viewed_service(request)
    return Response(service.metrics.exposition(), media_type=CONTENT_TYPE)


@router.get("/version")
async def version(request: Request) -> Response:
    """The Image Analyze API version this server is compatible with.

    A server whose flow runs on replicas elsewhere cannot read a client's shared
    memory, so it reports the level before it: PEKAT's SDK then sends frames over HTTP.
    """
    service: InspectionService = request.app.state.service
    if service.backend.reads_shared_memory:
        return PlainTextResponse(API_COMPAT_VERSION)
    return PlainTextResponse(API_VERSION_WITHOUT_SHARED_MEMORY)


@router.get("/stop")
@router.head("/stop")
async def stop(request: Request, key: str | None = Query(None)) -> Response:
    """Stop the server after answering, when ``key`` is the stop key given at start."""
    service: InspectionService = request.app.state.service
    check_stop_key(service.settings.stop_key, key)
    return PlainTextResponse("stopping", background=BackgroundTask(request.app.state.request_stop))


@router.get("/last_image")
async def last_image(request: Request) -> Response:
    """The image the last analysis ended with, as PNG; 404 before the first."""
    service: InspectionService = request.app.state.service
    check_api_key(service.settings.api_key, request.query_params.get("api_key"))
    png = await service.last_image_png()
    if png is None:
        return error_response(404, "not_found", "no image analysed yet")
    return Response(png, media_type="image/png")


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> Response:
    """The API's OpenAPI schema (FastAPI's own route would ignore the api key)."""
    service: InspectionService = request.app.state.service
    check_api_key(service.settings.api_key, request.query_params.get("api_key"))
    return JSONResponse(request.app.openapi())
