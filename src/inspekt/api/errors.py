"""One table from inspekt errors to HTTP answers, resolved along the MRO.

Routes never catch errors themselves: they raise, and the handler registered
here turns the error into ``{"error": message, "code": ...}`` with the status
of the nearest class in the table. The framework's own refusals (404 for an
unknown path, 405 for a wrong method) get the same body. Anything unexpected
is a 500 that says nothing about internals (the traceback goes to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http.client import responses as reason_phrases

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from ..errors import (
    AuthError,
    ImageError,
    ImageTooLargeError,
    InspektError,
    MethodNotAllowedError,
    NotFoundError,
    OverloadedError,
    RequestError,
    RequestTimeoutError,
    StopKeyError,
)

__all__ = [
    "error_response",
    "handle_http_error",
    "handle_inspekt_error",
    "handle_unexpected_error",
    "handle_validation_error",
]

log = logging.getLogger(__name__)

_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")

_STATUS: dict[type[InspektError], tuple[int, str]] = {
    ImageTooLargeError: (413, "too_large"),
    ImageError: (400, "bad_image"),
    MethodNotAllowedError: (405, "method_not_allowed"),
    NotFoundError: (404, "not_found"),
    RequestError: (400, "bad_request"),
    AuthError: (401, "unauthorized"),
    StopKeyError: (403, "forbidden"),
    RequestTimeoutError: (408, "request_timeout"),
    OverloadedError: (503, "overloaded"),
    # The project is loaded before the server listens, and module failures are
    # recorded in the context (error: true), so neither reaches a client as an
    # exception; anything else inspekt raises on purpose is a 500 that says what.
    InspektError: (500, "error"),
}


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The JSON error body every failure uses; ``error`` mirrors the context's key."""
    return JSONResponse({"error": message, "code": code}, status_code=status, headers=headers)


async def handle_inspekt_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InspektError)
    status, code = next(_STATUS[cls] for cls in type(exc).__mro__ if cls in _STATUS)
    headers: dict[str, str] | None = None
    if isinstance(exc, OverloadedError):
        headers = {"Retry-After": str(exc.retry_after)}
    elif isinstance(exc, MethodNotAllowedError):
        headers = {"Allow": exc.allowed}
    if status >= 500 and headers is None:
        log.error("%s %s: %s", request.method, request.url.path, exc.message)
    return error_response(status, code, exc.message, headers)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's and FastAPI's HTTPException (404, 405, ...) in inspekt's error body."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    phrase = reason_phrases.get(status, "")
    message = exc.detail
    headers = exc.headers
    if status == 405 and message == phrase:
        # Each method has a route of its own (one OpenAPI operation each), so the
        # framework's Allow names only the first route's: list every route's.
        allowed = _allowed_methods(request)
        headers = {**(headers or {}), "Allow": allowed}
        message = f"{request.method} is not allowed on {request.url.path} (allowed: {allowed})"
    elif status == 404 and message == phrase:
        message = f"no endpoint {request.url.path}"
    code = phrase.lower().replace(" ", "_")  # not_found, method_not_allowed
    return error_response(status, code, message, headers)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    """A path or query value of the wrong type (``/api/inspections/abc``), in inspekt's
    error body: 404 for a path that names nothing, 400 for a bad parameter."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    in_path = False
    for error in exc.errors():
        where = [str(part) for part in error.get("loc", ())]
        in_path = in_path or (bool(where) and where[0] == "path")
        problems.append(f"{'.'.join(where[1:]) or 'request'}: {error.get('msg', 'invalid')}")
    message = f"{request.url.path}: " + "; ".join(problems)
    return error_response(404 if in_path else 400, "not_found" if in_path else "bad_request",
                          message)


def _allowed_methods(request: Request) -> str:
    """The methods some route answers on this path, asked the way the router itself matches."""
    routes = request.app.router.routes

    def answers(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] == Match.FULL for route in routes)

    return ", ".join(method for method in _METHODS if answers(method))


async def handle_unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal server error (see the server log)")
