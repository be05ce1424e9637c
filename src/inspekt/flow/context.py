"""The context: the dict every module reads and edits, and its JSON form.

The keys follow PEKAT's Image Analyze API so client scripts read the same
fields. ``image``, ``input_image`` (as received), ``heatmap``, ``mask``, ``exit``
and ``items`` are for the flow only and never leave the server; everything else, including keys user code adds, is
returned as JSON.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import orjson

from ..types import Context, HeatMap, Image

__all__ = [
    "INTERNAL_KEYS",
    "add_heatmap",
    "context_to_json",
    "finish_context",
    "new_context",
    "public_context",
]

INTERNAL_KEYS = frozenset({"image", "input_image", "heatmap", "mask", "exit", "items"})
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def new_context(image: Image, data: str | None, global_data: dict[str, Any]) -> Context:
    """A fresh context for one image, with every key the API promises."""
    height, width = image.shape[:2]
    return {
        "image": image,
        "input_image": image,
        "heatmap": None,
        "mask": None,
        "exit": False,
        "error": False,
        "imageShape": {"height": height, "width": width},
        "processing": True,
        "processingTime": 0.0,
        "save": False,
        "data": data,
        "completeTime": None,
        "errors": [],
        "stdout": "",
        "stderr": "",
        "globalData": global_data,
        "operatorInput": None,
        "production_mode": True,
        "score": None,
        "threshold": None,
        "surfaceClasses": [],
        "angle": 0,
        "detectedRectangles": [],
        "lines": [],
        "result": None,
    }


def finish_context(context: Context, started: float) -> None:
    """Stamp timing and the final image shape once the flow is done."""
    image = context.get("image")
    if isinstance(image, np.ndarray) and image.ndim >= 2:
        context["imageShape"] = {"height": int(image.shape[0]), "width": int(image.shape[1])}
    context["processing"] = False
    context["processingTime"] = time.perf_counter() - started
    context["completeTime"] = time.time()


def add_heatmap(context: Context, heat: HeatMap) -> None:
    """Merge a module's heat (0..1, image-sized) into the context by maximum."""
    current = context.get("heatmap")
    if current is None or current.shape != heat.shape:
        context["heatmap"] = heat.astype(np.float32, copy=False)
    else:
        context["heatmap"] = np.maximum(current, heat)


def public_context(context: Context) -> Context:
    """The context without the keys that must not leave the server."""
    return {key: value for key, value in context.items() if key not in INTERNAL_KEYS}


def context_to_json(context: Context) -> bytes:
    """Serialise the public context; numpy values and odd objects become JSON."""
    return orjson.dumps(public_context(context), default=_to_jsonable, option=_JSON_OPTIONS)


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return repr(value)
