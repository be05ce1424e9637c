"""Liveness, version, remote stop and the last image."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.background import BackgroundTask
from starlette.responses import PlainTextResponse, Response

from .auth import check_stop_key
from .errors import error_response
from .service import InspectionService
from .settings import API_COMPAT_VERSION

__all__ = ["router"]

router = APIRouter()


@router.api_route("/ping", methods=["GET", "HEAD"])
async def ping() -> Response:
    """200 once the project is loaded: the server only listens after loading it."""
    return PlainTextResponse("OK")


@router.get("/version")
async def version() -> Response:
    """The Image Analyze API version this server is compatible with."""
    return PlainTextResponse(API_COMPAT_VERSION)


@router.api_route("/stop", methods=["GET", "HEAD"])
async def stop(request: Request, key: str | None = Query(None)) -> Response:
    """Stop the server after answering, when ``key`` is the stop key given at start."""
    service: InspectionService = request.app.state.service
    check_stop_key(service.settings.stop_key, key)
    return PlainTextResponse("stopping", background=BackgroundTask(request.app.state.request_stop))


@router.get("/last_image")
async def last_image(request: Request) -> Response:
    """The image the last analysis ended with, as PNG; 404 before the first."""
    service: InspectionService = request.app.state.service
    png = await service.last_image_png()
    if png is None:
        return error_response(404, "not_found", "no image analysed yet")
    return Response(png, media_type="image/png")
