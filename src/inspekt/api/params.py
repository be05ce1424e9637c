"""Query parameters of the analyze endpoints, parsed leniently like PEKAT.

Clients send bare flags (``&context_in_body``), ``=1``/``=true`` spellings, the
literal text ``None`` for ``data``, and ``width``/``height`` where they are not
needed; unknown parameters are ignored. Wrong values are 400s that say which
parameter and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ..errors import ImageError, RequestError

__all__ = [
    "RESPONSE_TYPES",
    "AnalyzeParams",
    "ResponseType",
    "parse_analyze_params",
    "parse_flag",
    "require_size",
]

ResponseType = Literal["context", "image", "annotated_image", "heatmap"]
RESPONSE_TYPES: tuple[ResponseType, ...] = ("context", "image", "annotated_image", "heatmap")
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class AnalyzeParams:
    response_type: ResponseType
    context_in_body: bool
    data: str | None
    api_key: str | None
    width: int | None
    height: int | None
    bayer: bool
    name: str | None


def parse_flag(params: Mapping[str, str], key: str) -> bool:
    """A bare flag or ``=1/true`` is on; absent or ``=0/false/no/off`` is off."""
    if key not in params:
        return False
    return params[key].strip().lower() not in _FALSE


def _parse_size(value: str | None, key: str) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise ImageError(f"{key} must be a whole number of pixels, got {value[:40]!r}") from None
    if number <= 0:
        raise ImageError(f"{key} must be positive, got {number}")
    return number


def parse_analyze_params(
    query: Mapping[str, str], form: Mapping[str, str] | None = None
) -> AnalyzeParams:
    """Read every analyze parameter; form fields may supply width/height (legacy multipart)."""
    response_type = query.get("response_type", "context") or "context"
    if response_type not in RESPONSE_TYPES:
        raise RequestError(
            f"invalid response_type {response_type[:40]!r}: use one of {', '.join(RESPONSE_TYPES)}"
        )
    form = form or {}
    return AnalyzeParams(
        response_type=response_type,
        context_in_body=parse_flag(query, "context_in_body"),
        data=query.get("data"),
        api_key=query.get("api_key"),
        width=_parse_size(query.get("width", form.get("width")), "width"),
        height=_parse_size(query.get("height", form.get("height")), "height"),
        bayer=parse_flag(query, "bayer"),
        name=query.get("name"),
    )


def require_size(params: AnalyzeParams, endpoint: str) -> tuple[int, int]:
    """Width and height, or a 400 naming the endpoint that needs them."""
    missing = [key for key in ("width", "height") if getattr(params, key) is None]
    if missing:
        raise ImageError(f"{endpoint} needs the {' and '.join(missing)} parameter(s)")
    assert params.width is not None and params.height is not None
    return params.width, params.height
