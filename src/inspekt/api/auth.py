"""Secure image analyze: the ``api_key`` query parameter, compared in constant time."""

from __future__ import annotations

import hmac

from ..errors import AuthError, StopKeyError

__all__ = ["check_api_key", "check_stop_key", "check_viewer"]


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


def check_stop_key(expected: str | None, given: str | None) -> None:
    """Raise StopKeyError unless ``given`` is the stop key set at start."""
    if expected is None or given is None or not _same(given, expected):
        raise StopKeyError("wrong or missing stop key")
