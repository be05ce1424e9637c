"""Deskew: turns the image so the code or text line found before stands upright.

A part comes to the camera at any angle; once the barcode or ocr module has found its
code or a line of its print, the code's orientation is the part's. Turning the image by
it lets the modules after this one (a second reading inside a fixed ``roi``, a
detector, user code) see every part the same way up. The codes, lines and rectangles
found before are moved with the image, so the annotated image and the context stay
aligned, and ``context["angle"]`` adds the turn as ``rotate@1`` does.

The turn depends on each image's reading, so training does not replay this module
(unlike ``rotate@1``): put trainable modules before it, or train on images already
upright.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import Field

from ..imaging.regions import turned_corners
from ..types import Context
from ._transform import transform_context
from .base import Module, ModuleOptions
from .registry import module_type
from .rotate import rotation

__all__ = ["Deskew", "DeskewOptions"]


class DeskewOptions(ModuleOptions):
    type: Literal["deskew@1"]
    by: Literal["codes", "ocr"] = Field(
        "codes",
        description="Turn by the first code read (codes) or the first line read (ocr).",
    )
    module: str | None = Field(
        None, description="Only what this module (by name) read; unset: any module's."
    )
    level_only: bool = Field(
        False,
        description="Turn only by the angle off the nearest axis (at most 45 degrees), "
        "leaving quarter turns: for codes printed across the part's text.",
    )
    min_angle: float = Field(
        0.5, ge=0, le=45, description="Turns smaller than this (degrees) are not made."
    )
    expand: bool = Field(True, description="Grow the canvas so no corner is cut.")


@module_type
class Deskew(Module):
    """Deskew: turns the image so the code or text line found before stands upright."""

    options_model = DeskewOptions
    options: DeskewOptions

    def run(self, context: Context) -> None:
        found = [
            item for item in context.get(self.options.by) or []
            if isinstance(item, dict) and isinstance(item.get("angle"), (int, float))
            and (self.options.module is None or item.get("module") == self.options.module)
        ]
        if not found:
            return  # nothing read: the reading module has said why
        angle = float(found[0]["angle"])
        if self.options.level_only:
            angle -= 90 * round(angle / 90)
        if abs(angle) < self.options.min_angle:
            return
        height, width = context["image"].shape[:2]
        # a code turned counter-clockwise on screen reads a negative (clockwise) angle,
        # and rotate@1 turns counter-clockwise: turning by the angle undoes it
        matrix, size = rotation(width, height, angle, self.options.expand)
        transform_context(context, lambda array, flag: cv2.warpAffine(
            array, matrix, size, flags=flag, borderMode=cv2.BORDER_REPLICATE
        ))
        _move_findings(context, matrix, angle)
        context["angle"] = (context.get("angle") or 0.0) + angle


def _move_findings(context: Context, matrix: np.ndarray, angle: float) -> None:
    """Codes' corners, lines' boxes and rectangles moved (and re-angled) with the image."""
    for code in context.get("codes") or []:
        _move_points(code, "corners", matrix, angle)
    for line in context.get("ocr") or []:
        _move_points(line, "box", matrix, angle)
    for rectangle in context.get("detectedRectangles") or []:
        try:
            x, y = float(rectangle["x"]), float(rectangle["y"])
            w, h = float(rectangle["width"]), float(rectangle["height"])
            orientation = float(rectangle.get("rotate") or 0.0)
        except (KeyError, TypeError, ValueError):
            continue  # user code may add half-built rectangles; they are left as they are
        corners = _moved(turned_corners(x, y, w, h, orientation), matrix)
        left, top = corners.min(axis=0)
        right, bottom = corners.max(axis=0)
        rectangle.update(x=round(left), y=round(top), width=round(right - left),
                         height=round(bottom - top))
        if orientation:
            rectangle["rotate"] = _turned(orientation, angle)


def _move_points(item: Any, key: str, matrix: np.ndarray, angle: float) -> None:
    if not isinstance(item, dict):
        return
    try:
        moved = _moved(item[key], matrix)
    except (KeyError, TypeError, ValueError):
        return
    item[key] = [[round(float(x)), round(float(y))] for x, y in moved]
    if isinstance(item.get("angle"), (int, float)):
        item["angle"] = _turned(float(item["angle"]), angle)


def _moved(points: Iterable[Any], matrix: np.ndarray) -> np.ndarray:
    array = np.asarray([[float(x), float(y), 1.0] for x, y in points])
    return np.asarray(array @ matrix.T)


def _turned(orientation: float, angle: float) -> float:
    """An orientation after the image turned by ``angle``, in -180..180."""
    return round((orientation - angle + 180) % 360 - 180, 1)
