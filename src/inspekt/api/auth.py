"""Secure image analyze: the ``api_key`` query parameter, compared in constant time."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from ..errors import AuthError, StopKeyError
from .service import InspectionService

__all__ = ["check_api_key", "check_stop_key", "check_viewer", "viewed_service"]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def check_api_key(expected: str | None, given: str | None) -> None:
    """Raise AuthError unless security is off or ``given`` is the key."""
    if expected is None:
        return
    if given is None or given == "":
        raise AuthError("this server requires an api_key query parameter")
    if not _same(given, expected):
        raise AuthError("wrong api_key")


def check_viewer(api_key: str | None, viewer_password: str | None, given: str | None) -> None:
    """Raise AuthError unless security is off, or ``given`` is the api key or the viewer
    password: what the dashboard, the history and the metrics need to be looked at."""
    if api_key is None or (viewer_password and given and _same(given, viewer_password)):
        return
    check_api_key(api_key, given)


def viewed_service(request: Request) -> InspectionService:
    """The app's service, once the request may look at it (dashboard, history, metrics):
    its ``api_key`` parameter is the key or the viewer password, or security is off."""
    service: InspectionService = request.app.state.service
    settings = service.settings
    check_viewer(settings.api_key, settings.viewer_password, request.query_params.get("api_key"))
    return service


def check_stop_key(expected: str | None, given: str | None) -> None:
    """Raise StopKeyError unless ``given`` is the stop key set at start."""
    if expected is None or given is None or not _same(given, expected):
        raise StopKeyError("wrong or missing stop key")
