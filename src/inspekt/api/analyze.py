"""The analyze endpoints: bytes in, context (and maybe a PNG) out.

Each route only reads the request and picks how the pixels arrive; decoding,
the flow and encoding run on the inspection service's worker threads.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..errors import ImageError, MethodNotAllowedError
from ..imaging.io import decode_image, image_from_raw, image_from_shared_memory
from ..types import Image
from .auth import check_api_key
from .body import is_multipart, read_body, read_form_image
from .params import AnalyzeParams, parse_analyze_params, require_size
from .request_log import set_verdict
from .service import InspectionService

__all__ = ["router"]

router = APIRouter()


def _query(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }


# Parameters are documented for /openapi.json only: declaring them to FastAPI would
# make it validate every one on every request (a few hundred microseconds, more
# than the rest of the route), and inspekt parses them itself, leniently, as PEKAT.
_COMMON = [
    _query("response_type", "context (default), image, annotated_image or heatmap"),
    _query("data", "Passed to the flow as context['data']."),
    _query("api_key", "Required when secure image analyze is on."),
    _query("context_in_body", "Bare flag: PNG followed by the context JSON, split by ImageLen."),
    _query("width", "Raw image width in pixels."),
    _query("height", "Raw image height in pixels."),
]
_RAW = [*_COMMON, _query("bayer", "Bare flag: the body is a Bayer RG8 mosaic.")]
_SHARED = [*_COMMON, _query("name", "POSIX shared-memory block holding BGR pixels.")]


def _service(request: Request) -> InspectionService:
    # Until an inspection says otherwise, this request ends without a verdict:
    # refused (key, queue, size) or an image that does not decode.
    set_verdict(request, "error")
    service: InspectionService = request.app.state.service
    check_api_key(service.settings.api_key, request.query_params.get("api_key"))
    return service


async def _run(
    request: Request, service: InspectionService, load: Callable[[], Image],
    params: AnalyzeParams, encoded: bytes | None = None,
) -> Response:
    answer = await service.inspect(load, params, request.url.path, encoded)
    set_verdict(request, answer.verdict)
    return Response(answer.body, media_type=answer.media_type, headers=answer.headers)


async def _analyze_body(request: Request, *, raw: bool, endpoint: str) -> Response:
    service = _service(request)
    settings = service.settings
    params = parse_analyze_params(request.query_params)
    multipart = is_multipart(request)
    if raw and not multipart:
        require_size(params, endpoint)
    body = await read_body(request, settings.max_body_bytes, settings.body_timeout)
    if multipart:
        form = await read_form_image(request, body)
        params = parse_analyze_params(request.query_params, form.fields)
        raw = raw or form.part == "array"
        body = form.data
    if raw:
        width, height = require_size(params, endpoint)
        load = partial(
            image_from_raw, body, width, height, bayer=params.bayer, limits=settings.limits
        )
    else:
        load = partial(decode_image, body, settings.limits)
    return await _run(request, service, load, params, None if raw else body)


# One route per method: a route with several methods gives every method the same
# OpenAPI operation id, which FastAPI warns about. GET is PEKAT's legacy multipart
# form: an old multi-project example sends it so.
@router.post("/analyze_image", openapi_extra={"parameters": _COMMON})
@router.get("/analyze_image", openapi_extra={"parameters": _COMMON})
async def analyze_image(request: Request) -> Response:
    """Analyse an encoded image (JPEG, PNG, BMP, TIFF) sent as the body.

    GET works only with the legacy multipart form (the image in a part named
    file, image or array).
    """
    if request.method == "GET" and not is_multipart(request):
        raise MethodNotAllowedError(
            "GET /analyze_image needs a multipart form with the image in a part named "
            "file, image or array; send a bare image body with POST",
            allowed="GET, POST",
        )
    return await _analyze_body(request, raw=False, endpoint="/analyze_image")


@router.post("/analyze_raw_image", openapi_extra={"parameters": _RAW})
@router.put("/analyze_raw_image", openapi_extra={"parameters": _RAW})
async def analyze_raw_image(request: Request) -> Response:
    """Analyse raw uint8 pixels: W*H*3 bytes BGR, W*H grayscale, or a Bayer mosaic."""
    return await _analyze_body(request, raw=True, endpoint="/analyze_raw_image")


@router.post("/analyze_image_shared_memory", openapi_extra={"parameters": _SHARED})
async def analyze_image_shared_memory(request: Request) -> Response:
    """Analyse a BGR frame that a local client left in shared memory."""
    service = _service(request)
    params = parse_analyze_params(request.query_params)
    width, height = require_size(params, "/analyze_image_shared_memory")
    if not params.name:
        raise ImageError("/analyze_image_shared_memory needs the name parameter")
    if not service.backend.reads_shared_memory:
        raise ImageError(
            "/analyze_image_shared_memory is not available here: this server runs its "
            "flow on replicas that cannot read this machine's shared memory; send the "
            "image to /analyze_image or /analyze_raw_image"
        )
    load = partial(image_from_shared_memory, params.name, width, height, service.settings.limits)
    return await _run(request, service, load, params)
