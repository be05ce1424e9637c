"""Read request bodies under a size limit, and the legacy multipart form."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from ..errors import ImageError, ImageTooLargeError, RequestTimeoutError

__all__ = ["FormImage", "is_multipart", "read_body", "read_form_image"]

_IMAGE_PARTS = ("file", "image", "array")


async def read_body(request: Request, max_bytes: int, timeout: float) -> bytes:
    """The whole body, refusing (413) past ``max_bytes`` and (408) past ``timeout`` seconds."""
    try:
        return await asyncio.wait_for(_read_body(request, max_bytes), timeout)
    except asyncio.TimeoutError:
        raise RequestTimeoutError(f"the request body did not arrive within {timeout:g} s") from None


async def _read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ImageTooLargeError(_too_large(int(declared), max_bytes))
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_bytes:
            raise ImageTooLargeError(_too_large(received, max_bytes))
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(size: int, limit: int) -> str:
    return f"request body of {size} bytes exceeds the limit of {limit} bytes"


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


@dataclass(frozen=True)
class FormImage:
    """The image part of a legacy multipart request and the form's text fields."""

    part: str
    data: bytes
    fields: dict[str, str]


async def read_form_image(
    request: Request, body: bytes, spool_max_size: int | None = None
) -> FormImage:
    """Find the ``file``/``image``/``array`` part in an already size-checked body.

    The body is already in memory, so file parts stay there too (``spool_max_size``
    None). Starlette's default spools parts over 1 MB to a temporary file, written
    and read back on threadpool threads; the benchmark passes that size to measure
    what keeping them costs.
    """

    async def replay() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(
        request.headers, replay(), max_files=4, max_fields=32, max_part_size=len(body) + 1
    )
    parser.spool_max_size = len(body) + 1 if spool_max_size is None else spool_max_size
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ImageError(f"bad multipart form: {exc.message}") from exc
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    for part in _IMAGE_PARTS:
        value = form.get(part)
        if isinstance(value, UploadFile):
            data = await value.read()
        elif isinstance(value, str):
            data = value.encode("latin-1", errors="replace")
        else:
            continue
        return FormImage(part=part, data=data, fields=fields)
    raise ImageError(
        f"multipart form has no image part: expected one named {', '.join(_IMAGE_PARTS)}"
    )
