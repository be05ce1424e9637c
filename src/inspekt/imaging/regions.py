"""Where to look and what was found: ROI rectangles, inspection masks and regions of heat.

Every model that produces a map (anomaly, surface, ...) inspects only its ROI
and the white part of its mask, and reports connected regions above its
threshold as rectangles; these helpers are that shared plumbing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from ..errors import ProjectError
from ..types import HeatMap, Image

__all__ = [
    "Rect", "Region", "find_regions", "masked", "read_mask", "roi_view", "turned_corners",
]

Mask = npt.NDArray[np.uint8]


class Rect(BaseModel):
    """A rectangle in image pixels (module options: ROIs, ignored areas)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)

    def clipped(self, height: int, width: int) -> tuple[slice, slice]:
        """Row and column slices of this rectangle inside an image of that size."""
        return (
            slice(min(self.y, height), min(self.y + self.height, height)),
            slice(min(self.x, width), min(self.x + self.width, width)),
        )


def roi_view(image: Image, roi: Rect | None) -> Image:
    """The part of the image inside the ROI (the whole image without one), contiguous."""
    if roi is None:
        return image
    rows, cols = roi.clipped(*image.shape[:2])
    return np.ascontiguousarray(image[rows, cols])


def masked(heat: HeatMap, mask: Mask) -> HeatMap:
    """Zero the heat where the mask is 0 (the mask is resized to the heat's size)."""
    if mask.shape != heat.shape:
        resized = cv2.resize(mask, (heat.shape[1], heat.shape[0]), interpolation=cv2.INTER_NEAREST)
        mask = cast(Mask, resized)  # cv2's stubs do not keep the dtype
    return np.where(mask > 0, heat, 0.0).astype(np.float32)


def read_mask(path: Path) -> Mask:
    """A grayscale mask image from the project (white: inspected)."""
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise ProjectError(f"{path}: mask image not found or not readable")
    return cast(Mask, mask)  # cv2's stubs do not say imread gives uint8


@dataclass(frozen=True)
class Region:
    """A connected region of a map at or above a threshold: its box, area and peak value."""

    x: int
    y: int
    width: int
    height: int
    area: int
    peak: float


def find_regions(heat: HeatMap, threshold: float, min_area: int = 0) -> list[Region]:
    """Connected regions of ``heat >= threshold``, strongest first."""
    above = (heat >= threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(above, connectivity=8)
    regions = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if area < max(min_area, 1):
            continue
        peak = float(heat[y : y + h, x : x + w][labels[y : y + h, x : x + w] == label].max())
        regions.append(Region(x, y, w, h, area, peak))
    regions.sort(key=lambda region: region.peak, reverse=True)
    return regions


def turned_corners(
    x: float, y: float, width: float, height: float, orientation: float
) -> list[tuple[float, float]]:
    """The corners of the turned thing an axis-aligned box holds (a code or a line read
    at an angle: PEKAT's rectangle with ``rotate``), solved from the box and the
    thing's orientation in degrees; the box's own corners near 45 degrees, where the
    thing's size cannot be told from its box."""
    box = [(x, y), (x + width, y), (x + width, y + height), (x, y + height)]
    cos, sin = abs(np.cos(np.radians(orientation))), abs(np.sin(np.radians(orientation)))
    determinant = cos * cos - sin * sin
    if abs(determinant) < 0.2:
        return box
    own_width = (width * cos - height * sin) / determinant
    own_height = (height * cos - width * sin) / determinant
    if own_width <= 0 or own_height <= 0:
        return box
    centre = (x + width / 2, y + height / 2)
    points = cv2.boxPoints((centre, (own_width, own_height), orientation))
    return [(float(px), float(py)) for px, py in points]
