"""The context: the dict every module reads and edits, and its JSON form.

The keys follow PEKAT's Image Analyze API so client scripts read the same
fields. ``image``, ``input_image`` (as received), ``heatmap``, ``mask``, ``exit``,
``items`` and ``trace`` are for the flow only and never leave the server;
everything else, including keys user code adds, is returned as JSON.

The returned keys have the types of PEKAT's own context model, which clients
validate against: ``processing`` is true once the flow ran, ``data`` a string
(``""`` when the request sent none), ``score`` and ``threshold`` floats (0.0 until
a module sets them), ``angle`` null until a module turns the image, and
``result`` a bool that starts true (OK) — modules and rules set it false.
``processingTime`` and ``completeTime`` are seconds the flow took.

``trace`` is the flow's own record of the image's way through it (which modules
ran, how long each took); it lives in the context so that nested flows (gates,
parallel branches) add to the same record, and it never reaches user code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from .types import Context, HeatMap, Image

__all__ = [
    "INTERNAL_KEYS",
    "PARENT_ONLY_KEYS",
    "TRACE_KEY",
    "FlowTrace",
    "add_heatmap",
    "context_to_json",
    "finish_context",
    "new_context",
    "public_context",
    "record_error",
    "trace_of",
]

TRACE_KEY = "trace"
_MISSING = object()
INTERNAL_KEYS = frozenset({"image", "input_image", "heatmap", "mask", "exit", "items", TRACE_KEY})
#: Keys user code never sees or replaces (Code modules in a child process).
PARENT_ONLY_KEYS = frozenset({"input_image", TRACE_KEY})
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


@dataclass
class FlowTrace:
    """Which modules an image went through, in order, and milliseconds spent in each."""

    ran: list[str] = field(default_factory=list)
    ms: dict[str, float] = field(default_factory=dict)

    def record(self, module: str, milliseconds: float) -> None:
        self.ran.append(module)
        self.ms[module] = self.ms.get(module, 0.0) + milliseconds


def new_context(image: Image, data: str | None, global_data: dict[str, Any]) -> Context:
    """A fresh context for one image, with every key the API promises."""
    height, width = image.shape[:2]
    return {
        TRACE_KEY: FlowTrace(),
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
        "data": "" if data is None else data,
        "completeTime": 0.0,
        "errors": [],
        "stdout": "",
        "stderr": "",
        "globalData": global_data,
        "operatorInput": {},
        # PEKAT says false only for images tried in its editor; inspekt has none.
        "production_mode": True,
        "score": 0.0,
        "threshold": 0.0,
        "surfaceClasses": [],
        "angle": None,
        "detectedRectangles": [],
        "lines": [],
        "result": True,
    }


def finish_context(context: Context, started: float) -> None:
    """Stamp timing and the final image shape once the flow is done."""
    image = context.get("image")
    if isinstance(image, np.ndarray) and image.ndim >= 2:
        context["imageShape"] = {"height": int(image.shape[0]), "width": int(image.shape[1])}
    _settle_result(context)
    context["error"] = bool(context.get("error"))  # user code may have put anything there
    # Both are the image's processing time in seconds (completeTime is no timestamp).
    elapsed = time.perf_counter() - started
    context["processingTime"] = elapsed
    context["completeTime"] = elapsed


def _settle_result(context: Context) -> None:
    """Make ``result`` the bool the context promises, whatever user code left there.

    numpy bools (``score < limit``) and the integers 0 and 1 are what a verdict
    computed in code often is, and mean what they say. Anything else (None, a
    string, a deleted key) is no verdict: the part is not passed, and the answer
    says why.
    """
    result = context.get("result", _MISSING)
    if isinstance(result, bool):
        return
    if isinstance(result, np.bool_) or (isinstance(result, (int, np.integer)) and result in (0, 1)):
        context["result"] = bool(result)
        return
    shown = "missing" if result is _MISSING else f"{result!r}"
    record_error(context, f"result is {shown}, not true or false: the image is not passed")
    context["result"] = False


def trace_of(context: Context) -> FlowTrace:
    """The context's trace (a fresh one for a context built by hand, e.g. in a test)."""
    trace = context.get(TRACE_KEY)
    if not isinstance(trace, FlowTrace):
        trace = context[TRACE_KEY] = FlowTrace()
    return trace


def record_error(context: Context, message: str) -> None:
    """Mark the image as not properly inspected.

    ``error`` is a bool; the reason goes to ``errors``.
    """
    context["errors"].append(message)
    context["error"] = True


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
