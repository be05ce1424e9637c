"""Serve a project with one performance fix reverted, to measure it side by side.

    python bench/variants.py VARIANT PROJECT --port N

``VARIANT`` names the fix to undo; every other line of ``inspekt serve`` runs
as shipped. Used by the "Fixes" section of the bench, never in production.
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

# Module level: FastAPI resolves the (string) annotations of the reverted routes here.
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

#: Starlette's own limit above which multipart file parts go to a temporary file.
STARLETTE_SPOOL_MAX_SIZE = 1024 * 1024


def _old_bind_socket(host: str, port: int) -> socket.socket:
    """bind_socket before fix 1: proto 0, so accepted sockets never got TCP_NODELAY."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _sync_dependency() -> None:
    """Fixes 2 and 4 reverted: the serving routes declare their query parameters again
    (fix 4 undone) through a plain ``def`` dependency (fix 2 undone), as originally."""
    _declared_query(sync=True)


def _spooled_multipart() -> None:
    """Fix 3 reverted: multipart file parts over 1 MB spool to a temporary file again."""
    from functools import partial

    import inspekt.api.analyze as analyze
    from inspekt.api.body import read_form_image

    analyze.read_form_image = partial(read_form_image, spool_max_size=STARLETTE_SPOOL_MAX_SIZE)


async def _old_documented_query(
    response_type: str | None = Query(None),
    data: str | None = Query(None),
    api_key: str | None = Query(None),
    context_in_body: str | None = Query(None),
    width: str | None = Query(None),
    height: str | None = Query(None),
) -> None:
    """The dependency the analyze routes declared before fix 4 (for the schema only)."""


def _declared_query(sync: bool = False) -> None:
    """Fix 4 reverted: the serving analyze routes declare their query parameters again,
    so FastAPI validates them on every request (as before the fix)."""
    import inspect
    import types

    import inspekt.api.analyze as analyze
    import inspekt.api.app as app

    async def analyze_image(request: Request) -> Response:
        return await analyze.analyze_image(request)

    async def analyze_raw_image(
        request: Request, bayer: str | None = Query(None, description="Bayer flag.")
    ) -> Response:
        return await analyze.analyze_raw_image(request)

    async def analyze_image_shared_memory(
        request: Request, name: str | None = Query(None, description="Block name.")
    ) -> Response:
        return await analyze.analyze_image_shared_memory(request)

    query = _old_documented_query
    if sync:

        def query(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
            return None

        query.__signature__ = inspect.signature(_old_documented_query)  # type: ignore[attr-defined]

    router = APIRouter()
    declared = [Depends(query)]
    router.add_api_route("/analyze_image", analyze_image, methods=["POST"], dependencies=declared)
    router.add_api_route("/analyze_raw_image", analyze_raw_image, methods=["POST", "PUT"],
                         dependencies=declared)
    router.add_api_route("/analyze_image_shared_memory", analyze_image_shared_memory,
                         methods=["POST"], dependencies=declared)
    app.analyze = types.SimpleNamespace(router=router)


def _inline_analysis() -> None:
    """Not a fix: the analysis runs on the event loop itself (as gevent's peer does), to
    show what the hop to the analysis thread costs. Never shipped: it blocks /ping and
    every other connection while a flow runs."""
    import inspekt.api.service as service
    from inspekt.inspection import InspectionOptions

    async def inspect(self, load_image, params, endpoint="", encoded=None):  # noqa: ANN001, ANN202
        options = InspectionOptions(data=params.data, endpoint=endpoint, encoded=encoded)
        return self.backend.answer(load_image, options, params)

    service.InspectionService.inspect = inspect


def revert(variant: str) -> None:
    import inspekt.server as server

    if variant == "no-nodelay":
        server.bind_socket = _old_bind_socket
    elif variant == "sync-dependency":
        _sync_dependency()
    elif variant == "spooled-multipart":
        _spooled_multipart()
    elif variant == "declared-query":
        _declared_query()
    elif variant == "inline-analysis":
        _inline_analysis()
    elif variant != "shipped":
        raise SystemExit(f"unknown variant {variant!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant")
    parser.add_argument("project", type=Path)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    revert(args.variant)
    import logging

    logging.basicConfig(level=logging.WARNING)
    from inspekt.api import ServerSettings
    from inspekt.server import serve

    serve(args.project, port=args.port, settings=ServerSettings(stop_key="bench-stop"))


if __name__ == "__main__":
    main()
