"""Typed results the modules report, and the finished inspection handed to subscribers.

Modules build :class:`Rectangle` objects and add them to the context in
PEKAT's JSON shape (``detectedRectangles``), so every model type reports boxes
the same way and user code keeps reading plain dicts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from .context import trace_of
from .imaging.render import annotated_image, heatmap_image
from .types import Context, Image

__all__ = ["ClassName", "ImageKind", "Inspection", "Rectangle", "add_rectangles"]

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
        return {
            "id": self.id,
            "label": self.label,
            "confidence": self.confidence,
            "color": self.color,
        }


@dataclass(frozen=True)
class Rectangle:
    """A found object or defect in image pixels, with the module that found it.

    ``kind`` is PEKAT's ``source.type`` (``UNSUPERVISED`` for anomaly regions).
    """

    x: int
    y: int
    width: int
    height: int
    confidence: float
    classes: tuple[ClassName, ...]
    module: str
    kind: str
    area: int | None = None

    def as_context(self, rectangle_id: int) -> dict[str, Any]:
        """The rectangle as PEKAT's ``detectedRectangles`` entry."""
        return {
            "x": self.x, "y": self.y, "width": self.width, "height": self.height,
            "rotate": 0, "area": self.width * self.height if self.area is None else self.area,
            "confidence": self.confidence, "id": rectangle_id,
            "classNames": [name.as_context() for name in self.classes],
            "source": {"modelId": self.module, "moduleId": self.module, "type": self.kind},
        }


def add_rectangles(context: Context, rectangles: list[Rectangle]) -> None:
    """Append rectangles to the context, numbering them after those already there."""
    found = context["detectedRectangles"]
    for rectangle in rectangles:
        found.append(rectangle.as_context(len(found)))


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

    @property
    def result(self) -> bool | None:
        result = self.context.get("result")
        return result if isinstance(result, bool) else None

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
            rectangles = self.context.get("detectedRectangles") or []
            return annotated_image(picture, self.context.get("heatmap"), rectangles)
        return picture
