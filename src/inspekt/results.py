"""Typed results the modules report, and the finished inspection handed to subscribers.

Modules build :class:`Rectangle` objects and add them to the context in
PEKAT's JSON shape (``detectedRectangles``), so every model type reports boxes
the same way and user code keeps reading plain dicts.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .context import trace_of
from .imaging.regions import Region
from .imaging.render import Annotation, annotated_image, heatmap_image, hex_to_bgr
from .types import Context, Image

__all__ = [
    "ClassName",
    "ImageKind",
    "Inspection",
    "Rectangle",
    "Verdict",
    "add_rectangles",
    "region_rectangles",
]

#: What an inspection can show: the image the flow ended with, annotated, or the heat.
ImageKind = Literal["image", "annotated_image", "heatmap"]


@dataclass(frozen=True)
class ClassName:
    """One class a rectangle may belong to, with its confidence (0..1) and display colour."""

    label: str
    confidence: float
    color: str = "#ff0000"
    id: int = 0

    def as_context(self) -> dict[str, Any]:
        """PEKAT's ``classNames`` entry: the confidence there is a whole percentage."""
        return {
            "id": self.id,
            "label": self.label,
            "confidence": round(self.confidence * 100),
            "color": self.color,
            "color_bgr": list(hex_to_bgr(self.color)),
        }


@dataclass(frozen=True)
class Rectangle:
    """A found object or defect in image pixels, with the module that found it.

    ``kind`` is PEKAT's ``source.type`` (``UNSUPERVISED`` for anomaly regions);
    ``module_id`` is the finding module's :attr:`~inspekt.modules.Module.module_id`.
    ``rotate`` is the found thing's own orientation in degrees (a code read at an
    angle); the box stays the axis-aligned one around it.
    """

    x: int
    y: int
    width: int
    height: int
    confidence: float
    classes: tuple[ClassName, ...]
    module_id: int
    kind: str
    area: int | None = None
    rotate: float = 0.0

    def as_context(self, rectangle_id: int) -> dict[str, Any]:
        """The rectangle as PEKAT's ``detectedRectangles`` entry."""
        return {
            "x": self.x, "y": self.y, "width": self.width, "height": self.height,
            "rotate": float(self.rotate),
            "area": self.width * self.height if self.area is None else self.area,
            "confidence": self.confidence, "id": rectangle_id,
            "classNames": [name.as_context() for name in self.classes],
            # inspekt keeps one model per module, so both ids name the module.
            "source": {"modelId": self.module_id, "moduleId": self.module_id, "type": self.kind},
        }


def region_rectangles(
    regions: Iterable[Region],
    threshold: float,
    label: str,
    color: str,
    module_id: int,
    kind: str,
) -> list[Rectangle]:
    """Regions of a map above ``threshold`` as rectangles of one class.

    A region's confidence is its peak on the scale where the threshold is 0.5
    (twice the threshold is full confidence), so every map-producing model
    (anomaly, surface) reports comparable numbers.
    """
    rectangles = []
    for region in regions:
        confidence = round(min(1.0, region.peak / (2 * threshold)), 4)
        rectangles.append(
            Rectangle(
                region.x, region.y, region.width, region.height, confidence,
                (ClassName(label, confidence, color),), module_id, kind, region.area,
            )
        )
    return rectangles


def add_rectangles(context: Context, rectangles: list[Rectangle]) -> None:
    """Append rectangles to the context with ids unique within it.

    Ids continue after the largest one already there, whoever added it: user
    code may have added rectangles with ids of its own.
    """
    found = context["detectedRectangles"]
    ids = [rect.get("id") for rect in found if isinstance(rect, dict)]
    taken = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    next_id = max(taken, default=0) + 1
    for number, rectangle in enumerate(rectangles, next_id):
        found.append(rectangle.as_context(number))


#: ``ok``/``nok``: the flow's verdict; ``error``: no trustworthy verdict (refused,
#: undecodable, or a module failed); ``-``: no analysis asked for, or a flow that sets
#: no verdict.
Verdict = Literal["ok", "nok", "error", "-"]


@dataclass
class Inspection:
    """One finished inspection: the context plus what the flow's trace and the caller measured.

    This is what subscribers (outputs, image savers, history, metrics) receive;
    it carries no transport: the API, the batch command and a serving replica
    all produce it the same way.
    """

    context: Context
    #: Milliseconds to read or decode the image before the flow ran.
    load_ms: float = 0.0
    #: Wall-clock time the inspection finished (Unix seconds).
    finished_at: float = field(default_factory=time.time)
    #: How the project wants its annotated images drawn.
    annotation: Annotation = field(default_factory=Annotation)
    #: Where the image came from: the API route (``/analyze_image``), ``analyze`` for
    #: the batch command.
    endpoint: str = ""
    #: The image as the client sent it (a JPEG, a PNG file), when it came encoded.
    encoded: bytes | None = None

    @property
    def result(self) -> bool | None:
        result = self.context.get("result")
        return result if isinstance(result, bool) else None

    @property
    def verdict(self) -> Verdict:
        """``ok``/``nok``, ``error`` when a module failed (whatever result it left), ``-``
        for a flow that sets no result."""
        if self.context.get("error"):
            return "error"
        result = self.result
        return "-" if result is None else "ok" if result else "nok"

    @property
    def module_ms(self) -> dict[str, float]:
        """Milliseconds spent in each module that ran (nested modules included)."""
        return dict(trace_of(self.context).ms)

    @property
    def modules_run(self) -> list[str]:
        """Names of the modules the image went through, in order."""
        return list(trace_of(self.context).ran)

    @property
    def flow_ms(self) -> float:
        return float(self.context.get("processingTime") or 0.0) * 1000

    def image(self, kind: ImageKind = "image") -> Image:
        """The image the flow ended with, annotated with heat and rectangles, or the heat alone."""
        picture: Image = self.context["image"]
        if kind == "heatmap":
            return heatmap_image(picture, self.context.get("heatmap"))
        if kind == "annotated_image":
            score = self.context.get("score")
            return annotated_image(
                picture,
                self.context.get("heatmap"),
                self.context.get("detectedRectangles") or [],
                banner=self.annotation.banner,
                result=self.result,
                score=float(score) if isinstance(score, (int, float)) else None,
            )
        return picture

    def detached(self) -> Inspection:
        """A copy of what :meth:`image` draws from, safe to render later on another thread.

        The frame may still be the client's shared-memory block, and user code or
        later requests must not change a picture that waits in a writer's backlog.
        """
        context = self.context
        heat = context.get("heatmap")
        copied = {
            "image": np.array(context["image"], copy=True),
            "heatmap": None if heat is None else np.array(heat, copy=True),
            "detectedRectangles": [dict(r) for r in context.get("detectedRectangles") or []],
            "result": context.get("result"),
            "score": context.get("score"),
        }
        return Inspection(copied, self.load_ms, self.finished_at, self.annotation, self.endpoint)
