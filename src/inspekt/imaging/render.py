"""Draw what the flow found: the PEKAT-style heatmap and annotated image.

PEKAT's heatmap is a black image whose red channel carries the heat, with a
maximum red of about 204; the annotated image blends that red into the picture
(``out = img * (1 - a) + red * a`` with ``a = R / 204``) and draws every
detected rectangle in its class colour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import cv2
import numpy as np

from ..types import HeatMap, Image

__all__ = ["HEAT_RED_MAX", "annotated_image", "as_bgr", "heatmap_image", "hex_to_bgr"]

HEAT_RED_MAX = 204
_DEFAULT_COLOR = (0, 0, 255)


def as_bgr(image: Image) -> Image:
    """Grayscale to BGR; BGR passes through untouched."""
    # cv2's stubs type results as arrays of any numeric dtype; colour conversions keep uint8.
    if image.ndim == 2:
        return cast(Image, cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    if image.shape[2] == 4:
        return cast(Image, cv2.cvtColor(image, cv2.COLOR_BGRA2BGR))
    return image


def _heat_red(heat: HeatMap | None, height: int, width: int) -> np.ndarray:
    if heat is None:
        return np.zeros((height, width), np.uint8)
    if heat.shape != (height, width):
        resized = cv2.resize(heat, (width, height), interpolation=cv2.INTER_LINEAR)
        heat = cast(HeatMap, resized)  # cv2's stubs do not keep the dtype
    return (np.clip(heat, 0.0, 1.0) * HEAT_RED_MAX).astype(np.uint8)


def heatmap_image(image: Image, heat: HeatMap | None) -> Image:
    """A black image of the flow image's size with the heat in the red channel."""
    height, width = image.shape[:2]
    out = np.zeros((height, width, 3), np.uint8)
    out[:, :, 2] = _heat_red(heat, height, width)
    return out


def annotated_image(
    image: Image, heat: HeatMap | None, rectangles: Iterable[Mapping[str, Any]]
) -> Image:
    """The image with the heat blended in red and rectangles drawn with labels."""
    out = as_bgr(image)
    height, width = out.shape[:2]
    if heat is not None:
        alpha = _heat_red(heat, height, width).astype(np.float32)[:, :, None] / HEAT_RED_MAX
        red = np.array(_DEFAULT_COLOR, np.float32)
        out = (out.astype(np.float32) * (1.0 - alpha) + red * alpha).astype(np.uint8)
    else:
        out = out.copy()
    for rect in rectangles:
        _draw_rectangle(out, rect)
    return out


def _draw_rectangle(canvas: Image, rect: Mapping[str, Any]) -> None:
    try:
        x, y = int(rect["x"]), int(rect["y"])
        w, h = int(rect["width"]), int(rect["height"])
    except (KeyError, TypeError, ValueError):
        return  # user code may add half-built rectangles; drawing is best effort
    classes = rect.get("classNames") or []
    first = classes[0] if classes and isinstance(classes[0], Mapping) else {}
    color = hex_to_bgr(str(first.get("color", "")))
    cv2.rectangle(canvas, (x, y), (x + w, y + h), color, 2)
    label = str(first.get("label", ""))
    if label:
        confidence = rect.get("confidence")
        if isinstance(confidence, (int, float)):
            label = f"{label} {confidence:.2f}"
        cv2.putText(
            canvas, label, (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1,
            cv2.LINE_AA,
        )


def hex_to_bgr(color: str) -> tuple[int, int, int]:
    """``#rrggbb`` to an OpenCV BGR tuple; red for anything unreadable."""
    value = color.lstrip("#")
    if len(value) != 6:
        return _DEFAULT_COLOR
    try:
        r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return _DEFAULT_COLOR
    return (b, g, r)
