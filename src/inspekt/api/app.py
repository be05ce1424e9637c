"""Assemble the ASGI app: routes, error handlers, the request log, and the service they share."""

from __future__ import annotations

import sys
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from ..errors import InspektError
from . import analyze, dashboard, history, system
from .errors import (
    handle_http_error,
    handle_inspekt_error,
    handle_unexpected_error,
    handle_validation_error,
)
from .metrics import MetricsMiddleware
from .request_log import RequestLog
from .service import InspectionService

__all__ = ["create_app"]


def create_app(
    service: InspectionService,
    request_stop: Callable[[], None],
    stopping: Callable[[], bool] = lambda: False,
) -> FastAPI:
    """The Image Analyze API, the history and the dashboard over one inspection service.

    ``request_stop`` is called (after the answer is sent) when ``/stop`` gets the
    right key; the server that runs the app decides what stopping means, and
    ``stopping`` says when it has begun (long-lived event streams then end).
    """
    app = FastAPI(
        title="inspekt",
        summary="PEKAT VISION-compatible Image Analyze API",
        # /openapi.json is served by system.py, behind the api key when there is
        # one. No /docs: Swagger UI loads its scripts from a CDN that a line's
        # network often cannot reach.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.state.request_stop = request_stop
    app.state.stopping = stopping
    app.include_router(system.router)
    app.include_router(analyze.router)
    app.include_router(history.router)
    app.include_router(dashboard.router)
    app.add_exception_handler(InspektError, handle_inspekt_error)
    app.add_exception_handler(HTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(Exception, handle_unexpected_error)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    settings = service.settings
    if settings.request_log is not None:
        app.add_middleware(RequestLog, write=sys.stderr.write, log_format=settings.request_log)
    elif settings.log_refused:
        app.add_middleware(RequestLog, write=sys.stderr.write, only_status=401)
    return app
