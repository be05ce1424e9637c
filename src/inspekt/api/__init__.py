"""The HTTP layer: thin routes over the inspection service."""

from __future__ import annotations

from .app import create_app
from .service import InspectionService
from .settings import API_COMPAT_VERSION, ServerSettings

__all__ = ["API_COMPAT_VERSION", "InspectionService", "ServerSettings", "create_app"]
