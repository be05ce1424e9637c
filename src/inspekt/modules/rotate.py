"""Rotate: by quarter turns (exact) or by any angle (interpolated)."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from ..types import Context
from ._transform import transform_context
from .base import Module, ModuleOptions
from .registry import module_type

__all__ = ["Rotate", "RotateOptions"]


class RotateOptions(ModuleOptions):
    type: Literal["rotate@1"]
    angle: float = Field(ge=-360, le=360, description="Degrees, counter-clockwise.")
    expand: bool = Field(True, description="Grow the canvas so no corner is cut (any angle).")


@module_type
class Rotate(Module):
    prepares_image = True
    options_model = RotateOptions
    options: RotateOptions

    def run(self, context: Context) -> None:
        angle = self.options.angle % 360
        if angle % 90 == 0:
            turns = int(angle // 90)
            transform_context(context, lambda array, _: np.rot90(array, turns))
        else:
            height, width = context["image"].shape[:2]
            matrix, size = rotation(width, height, angle, self.options.expand)
            transform_context(
                context, lambda array, flag: cv2.warpAffine(array, matrix, size, flags=flag)
            )
        context["angle"] = (context.get("angle") or 0.0) + self.options.angle


def rotation(
    width: int, height: int, angle: float, expand: bool
) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine matrix turning an image about its centre, and the output size."""
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    if not expand:
        return matrix, (width, height)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width = int(round(height * sin + width * cos))
    new_height = int(round(height * cos + width * sin))
    matrix[0, 2] += new_width / 2 - width / 2
    matrix[1, 2] += new_height / 2 - height / 2
    return matrix, (new_width, new_height)
