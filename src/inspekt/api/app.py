"""Assemble the ASGI app: routes, error handlers, and the service they share."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from ..errors import InspektError
from . import analyze, system
from .errors import handle_inspekt_error, handle_unexpected_error
from .service import InspectionService

__all__ = ["create_app"]


def create_app(service: InspectionService, request_stop: Callable[[], None]) -> FastAPI:
    """The Image Analyze API over one inspection service.

    ``request_stop`` is called (after the answer is sent) when ``/stop`` gets the
    right key; the server that runs the app decides what stopping means.
    """
    app = FastAPI(
        title="inspekt",
        summary="PEKAT VISION-compatible Image Analyze API",
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.state.request_stop = request_stop
    app.include_router(system.router)
    app.include_router(analyze.router)
    app.add_exception_handler(InspektError, handle_inspekt_error)
    app.add_exception_handler(Exception, handle_unexpected_error)
    return app
