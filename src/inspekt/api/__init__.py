"""The HTTP layer: thin routes over the inspection service."""

from __future__ import annotations

from .app import create_app
from .service import InspectionBackend, InspectionService, LocalBackend
from .settings import API_COMPAT_VERSION, ServerSettings

__all__ = [
    "API_COMPAT_VERSION",
    "InspectionBackend",
    "InspectionService",
    "LocalBackend",
    "ServerSettings",
    "create_app",
]
