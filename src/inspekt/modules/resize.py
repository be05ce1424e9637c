"""Resize: scale the image to a size or by a factor."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import Field, model_validator

from ..types import Context
from ._transform import transform_context
from .base import Module, ModuleOptions
from .registry import module_type

__all__ = ["Resize", "ResizeOptions"]


class ResizeOptions(ModuleOptions):
    type: Literal["resize@1"]
    width: int | None = Field(None, gt=0, le=16384, description="Target width in pixels.")
    height: int | None = Field(None, gt=0, le=16384, description="Target height in pixels.")
    scale: float | None = Field(None, gt=0, le=16, description="Factor for both sides.")

    @model_validator(mode="after")
    def _one_way(self) -> ResizeOptions:
        if (self.scale is None) == (self.width is None and self.height is None):
            raise ValueError(
                "give either scale, or width and/or height (the other keeps the aspect)"
            )
        return self

    def target(self, width: int, height: int) -> tuple[int, int]:
        if self.scale is not None:
            return max(1, round(width * self.scale)), max(1, round(height * self.scale))
        if self.width is not None and self.height is not None:
            return self.width, self.height
        if self.width is not None:
            return self.width, max(1, round(height * self.width / width))
        assert self.height is not None
        return max(1, round(width * self.height / height)), self.height


@module_type
class Resize(Module):
    prepares_image = True
    options_model = ResizeOptions
    options: ResizeOptions

    def run(self, context: Context) -> None:
        height, width = context["image"].shape[:2]
        size = self.options.target(width, height)
        shrinking = size[0] * size[1] < width * height

        def resize(array: np.ndarray, interpolation: int) -> np.ndarray:
            if interpolation == cv2.INTER_LINEAR and shrinking:
                interpolation = cv2.INTER_AREA  # no aliasing when shrinking
            return cv2.resize(array, size, interpolation=interpolation)

        transform_context(context, resize)
