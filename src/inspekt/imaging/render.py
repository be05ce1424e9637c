"""Draw what the flow found: the PEKAT-style heatmap and an annotated image for people.

Heat maps are normalised so that **0.5 is the threshold**: a module maps its own
scale onto 0..1 with its threshold at 0.5 (the anomaly module adds
``clip(heat / (2 * threshold), 0, 1)``), and 1.0 is twice as far from good.

PEKAT's heatmap is a black image whose red channel carries the heat, with a
maximum red of about 204 (``heatmap_image``, kept exactly so for clients).

The annotated image is made for a person looking for the defect:

- only heat at or above the threshold is painted, so bright parts of a good
  part keep their colour;
- the tint is at most half opaque (a quarter at the threshold, half at full
  heat), so the defect stays visible under it, and each region above the
  threshold is outlined;
- every rectangle is drawn in its class colour with its label and confidence on
  a filled tag, readable on any background;
- optionally a strip under the image says OK/NOK and the score. It is added
  below the picture, so pixel coordinates (rectangles) stay those of the image.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from ..errors import ImageError
from ..types import HeatMap, Image
from .regions import turned_corners

__all__ = [
    "HEAT_COLOR",
    "HEAT_RED_MAX",
    "HEAT_THRESHOLD",
    "Annotation",
    "Color",
    "annotated_image",
    "as_bgr",
    "as_rgb",
    "draw_outline",
    "heatmap_image",
    "hex_to_bgr",
    "legend_strip",
]

#: An OpenCV colour: blue, green, red.
Color = tuple[int, int, int]

HEAT_RED_MAX = 204
#: Where every module's threshold sits on the normalised heat scale.
HEAT_THRESHOLD = 0.5
#: Opacity of the tint at the threshold and at full heat; never more, so the defect shows.
_TINT_ALPHA = (0.25, 0.5)
#: The colour heat above the threshold is tinted and outlined in.
HEAT_COLOR: Color = (0, 0, 255)
_DEFAULT_COLOR: Color = (0, 0, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BANNER_COLORS: dict[bool | None, Color] = {
    True: (40, 150, 40), False: (40, 40, 210), None: (110, 110, 110)
}
_STRIP_BACKGROUND: Color = (40, 40, 40)


def as_bgr(image: Image) -> Image:
    """Grayscale to BGR; BGR passes through untouched."""
    # cv2's stubs type results as arrays of any numeric dtype; colour conversions keep uint8.
    if image.ndim == 2:
        return cast(Image, cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    if image.shape[2] == 4:
        return cast(Image, cv2.cvtColor(image, cv2.COLOR_BGRA2BGR))
    return image


def as_rgb(image: Image) -> Image:
    """Any (H, W), (H, W, 1), BGR or BGRA uint8 image as RGB, the order networks take."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return cast(Image, cv2.cvtColor(image, cv2.COLOR_GRAY2RGB))
    if image.ndim == 3 and image.shape[2] == 3:
        return cast(Image, cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    if image.ndim == 3 and image.shape[2] == 4:
        return cast(Image, cv2.cvtColor(image, cv2.COLOR_BGRA2RGB))
    raise ImageError(
        f"expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got {image.shape}"
    )


def _fit_heat(heat: HeatMap, height: int, width: int) -> HeatMap:
    if heat.shape != (height, width):
        resized = cv2.resize(heat, (width, height), interpolation=cv2.INTER_LINEAR)
        heat = cast(HeatMap, resized)  # cv2's stubs do not keep the dtype
    return heat


def heatmap_image(image: Image, heat: HeatMap | None) -> Image:
    """A black image of the flow image's size with the heat in the red channel (PEKAT's format)."""
    height, width = image.shape[:2]
    out = np.zeros((height, width, 3), np.uint8)
    if heat is not None:
        heat = _fit_heat(heat, height, width)
        out[:, :, 2] = (np.clip(heat, 0.0, 1.0) * HEAT_RED_MAX).astype(np.uint8)
    return out


class Annotation(BaseModel):
    """How annotated images are drawn for a project (``annotation:`` in flow.yaml)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    banner: bool = Field(
        False, description="Add an OK/NOK strip with the score below every annotated image."
    )


def annotated_image(
    image: Image,
    heat: HeatMap | None,
    rectangles: Iterable[Mapping[str, Any]],
    *,
    banner: bool = False,
    result: bool | None = None,
    score: float | None = None,
) -> Image:
    """The image with the heat above the threshold tinted and outlined, and labelled rectangles.

    With ``banner`` a strip is added below the image: green "OK", red "NOK" or
    grey "no result" for ``result``, followed by ``score`` when given.
    """
    out: Image = as_bgr(image).copy()
    height, width = out.shape[:2]
    scale = _Scale.of(out)
    if heat is not None:
        _paint_heat(out, _fit_heat(heat, height, width), scale)
    for rect in rectangles:
        _draw_rectangle(out, rect, scale)
    if banner:
        out = np.vstack([out, _banner(width, result, score, scale)])
    return out


class _Scale:
    """Line widths and text size that read the same on a thumbnail and a 4K frame."""

    def __init__(self, font: float) -> None:
        self.font = font
        self.text = max(1, round(font * 1.6))
        self.line = max(2, round(font * 3.5))
        self.pad = max(2, round(font * 6))

    @classmethod
    def of(cls, image: Image) -> _Scale:
        return cls(float(np.clip(min(image.shape[:2]) / 1000, 0.4, 2.0)))


def _paint_heat(canvas: Image, heat: HeatMap, scale: _Scale) -> None:
    above = heat >= HEAT_THRESHOLD
    if not above.any():
        return
    low, high = _TINT_ALPHA
    strength = (np.clip(heat[above], HEAT_THRESHOLD, 1.0) - HEAT_THRESHOLD) / (1 - HEAT_THRESHOLD)
    alpha = (low + (high - low) * strength)[:, None]
    tint = np.array(HEAT_COLOR, np.float32) * alpha
    canvas[above] = (canvas[above].astype(np.float32) * (1 - alpha) + tint).astype(np.uint8)
    draw_outline(canvas, above, HEAT_COLOR, scale.line)


def draw_outline(
    canvas: Image, mask: npt.NDArray[np.bool_] | npt.NDArray[np.uint8], color: Color,
    thickness: int = 1,
) -> None:
    """Outline each region of a mask (nonzero = inside) on the canvas, in place.

    A dark halo under the line keeps it visible on a background of its own colour.
    """
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    cv2.drawContours(canvas, contours, -1, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.drawContours(canvas, contours, -1, color, thickness, cv2.LINE_AA)


def _draw_rectangle(canvas: Image, rect: Mapping[str, Any], scale: _Scale) -> None:
    try:
        x, y = int(rect["x"]), int(rect["y"])
        w, h = int(rect["width"]), int(rect["height"])
    except (KeyError, TypeError, ValueError):
        return  # user code may add half-built rectangles; drawing is best effort
    classes = rect.get("classNames") or []
    first = classes[0] if classes and isinstance(classes[0], Mapping) else {}
    color = hex_to_bgr(str(first.get("color", "")))
    turn = rect.get("rotate")
    if isinstance(turn, numbers.Real) and turn and math.isfinite(float(turn)):
        # a code or line read at an angle is outlined turned with it, tagged at its top
        corners = np.round(turned_corners(x, y, w, h, float(turn))).astype(np.int32)
        cv2.polylines(canvas, [corners], True, color, scale.line, cv2.LINE_AA)
        x, y = (int(v) for v in corners[np.argmin(corners[:, 1])])
    else:
        cv2.rectangle(canvas, (x, y), (x + w, y + h), color, scale.line)
    percent = _percent(rect.get("confidence"))
    if percent is None:
        percent = _percent(first.get("confidence"))
    label = " ".join(part for part in (str(first.get("label", "")), percent) if part)
    if label:
        _draw_tag(canvas, label, x, y, color, scale)


def _percent(confidence: object) -> str | None:
    """A confidence as a whole percentage, or None when it is not a number.

    A rectangle's confidence is a fraction (0..1) while class confidences may be
    percentages (0..100), so a value above 1 is read as a percentage already.
    """
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        return None
    value = float(confidence)
    if not math.isfinite(value):
        return None
    return f"{value if value > 1 else value * 100:.0f}%"


def _draw_tag(canvas: Image, text: str, x: int, y: int, color: Color, scale: _Scale) -> None:
    """Text on a filled tag of the box's colour, above the box (inside it at the top edge)."""
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, scale.font, scale.text)
    tag_w, tag_h = text_w + 2 * scale.pad, text_h + baseline + 2 * scale.pad
    height, width = canvas.shape[:2]
    top = y - tag_h if y - tag_h >= 0 else max(y, 0)
    left = min(max(x, 0), max(width - tag_w, 0))
    cv2.rectangle(canvas, (left, top), (left + tag_w - 1, min(top + tag_h, height) - 1), color, -1)
    cv2.putText(
        canvas, text, (left + scale.pad, top + scale.pad + text_h), _FONT, scale.font,
        _ink_on(color), scale.text, cv2.LINE_AA,
    )


def _ink_on(background: Color) -> Color:
    """Black text on light colours, white on dark ones."""
    blue, green, red = background
    return (0, 0, 0) if 0.299 * red + 0.587 * green + 0.114 * blue > 140 else (255, 255, 255)


def _banner(width: int, result: bool | None, score: float | None, scale: _Scale) -> Image:
    verdict = {True: "OK", False: "NOK", None: "no result"}[result]
    text = verdict if score is None else f"{verdict}   score {score:.3f}"
    big = _Scale(scale.font * 1.6)
    (_, text_h), baseline = cv2.getTextSize(text, _FONT, big.font, big.text)
    strip = np.full((text_h + baseline + 2 * big.pad, width, 3), _BANNER_COLORS[result], np.uint8)
    cv2.putText(
        strip, text, (big.pad, big.pad + text_h), _FONT, big.font, (255, 255, 255), big.text,
        cv2.LINE_AA,
    )
    return strip


def legend_strip(image: Image, entries: Sequence[tuple[str, Color | None]]) -> Image:
    """A dark strip to put under ``image`` explaining its colours.

    Each entry is its text after a swatch of its colour (none: text only); text
    is sized as ``annotated_image`` sizes it on that image, and entries wrap.
    """
    width = image.shape[1]
    scale = _Scale.of(image)
    (_, text_h), baseline = cv2.getTextSize("Ag", _FONT, scale.font, scale.text)
    line_h = text_h + baseline + scale.pad
    swatch = text_h
    placed: list[tuple[int, int, str, Color | None]] = []  # x, line, text, colour
    x, line = scale.pad, 0
    for text, color in entries:
        text_w = cv2.getTextSize(text, _FONT, scale.font, scale.text)[0][0]
        needed = (0 if color is None else swatch + scale.pad) + text_w
        if x > scale.pad and x + needed > width - scale.pad:
            x, line = scale.pad, line + 1
        placed.append((x, line, text, color))
        x += needed + 3 * scale.pad
    strip = np.full((scale.pad + line_h * (line + 1), width, 3), _STRIP_BACKGROUND, np.uint8)
    for x, line, text, color in placed:
        top = scale.pad + line * line_h
        if color is not None:
            cv2.rectangle(strip, (x, top), (x + swatch, top + swatch), color, -1)
            x += swatch + scale.pad
        cv2.putText(
            strip, text, (x, top + text_h), _FONT, scale.font, (255, 255, 255), scale.text,
            cv2.LINE_AA,
        )
    return strip


def hex_to_bgr(color: str) -> Color:
    """``#rrggbb`` to an OpenCV BGR tuple; red for anything unreadable."""
    value = color.lstrip("#")
    if len(value) != 6:
        return _DEFAULT_COLOR
    try:
        r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return _DEFAULT_COLOR
    return (b, g, r)
