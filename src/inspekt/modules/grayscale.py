"""Grayscale: drop colour, as one channel or as three equal channels."""

from __future__ import annotations

from typing import Literal

import cv2
from pydantic import Field

from ..types import Context
from .base import Module, ModuleOptions
from .registry import module_type

__all__ = ["Grayscale", "GrayscaleOptions"]


class GrayscaleOptions(ModuleOptions):
    type: Literal["grayscale@1"]
    channels: Literal[1, 3] = Field(1, description="3 keeps a BGR-shaped image for colour models.")


@module_type
class Grayscale(Module):
    prepares_image = True
    options_model = GrayscaleOptions
    options: GrayscaleOptions

    def run(self, context: Context) -> None:
        image = context["image"]
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        context["image"] = (
            cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR) if self.options.channels == 3 else gray
        )
