"""Mask: regions the modules after it ignore (fixtures, labels, edges).

Rectangles and polygons list what to *ignore*; a mask image (PNG in the
project) marks what to *inspect* in white. They combine with any mask set
earlier. The mask follows later crops, rotations and resizes, and travels in
``context['mask']`` (never returned to clients).
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import Field, field_validator

from ..errors import ProjectError
from ..imaging.regions import Rect
from ..types import Context
from .base import Module, ModuleEnv, ModuleOptions, ProjectPath
from .registry import module_type

__all__ = ["Mask", "MaskOptions"]

Point = tuple[int, int]


class MaskOptions(ModuleOptions):
    type: Literal["mask@1"]
    rectangles: list[Rect] = Field(default_factory=list, description="Rectangles to ignore.")
    polygons: list[list[Point]] = Field(
        default_factory=list, description="Polygons to ignore, as lists of [x, y] points."
    )
    image: ProjectPath | None = Field(
        None, description="PNG in the project: white is inspected, black ignored."
    )

    @field_validator("polygons")
    @classmethod
    def _three_points(cls, polygons: list[list[Point]]) -> list[list[Point]]:
        if any(len(polygon) < 3 for polygon in polygons):
            raise ValueError("a polygon needs at least 3 points")
        return polygons


@module_type
class Mask(Module):
    options_model = MaskOptions
    options: MaskOptions

    def __init__(self, options: MaskOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self.image_mask = None
        if options.image is not None:
            path = env.project_dir / options.image
            self.image_mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if self.image_mask is None:
                raise ProjectError(f"image: {path} not found or not an image")
        if not (options.rectangles or options.polygons or options.image):
            raise ProjectError("give rectangles, polygons or an image")

    def run(self, context: Context) -> None:
        height, width = context["image"].shape[:2]
        mask = self.draw(height, width)
        previous = context.get("mask")
        if previous is not None and previous.shape == mask.shape:
            mask = np.minimum(previous, mask)
        context["mask"] = mask

    def draw(self, height: int, width: int) -> np.ndarray:
        """255 where inspected, 0 where ignored, at the given image size."""
        if self.image_mask is not None:
            base = cv2.resize(self.image_mask, (width, height), interpolation=cv2.INTER_NEAREST)
            mask = np.where(base > 127, 255, 0).astype(np.uint8)
        else:
            mask = np.full((height, width), 255, np.uint8)
        for rect in self.options.rectangles:
            rows, cols = rect.clipped(height, width)
            mask[rows, cols] = 0
        if self.options.polygons:
            shapes = [np.array(polygon, np.int32) for polygon in self.options.polygons]
            cv2.fillPoly(mask, shapes, 0)
        return mask
