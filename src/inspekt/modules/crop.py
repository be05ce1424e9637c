"""Crop: keep one rectangle of the image (the part), drop the rest."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..errors import FlowError
from ..types import Context
from ._transform import transform_context
from .base import Module, ModuleOptions
from .registry import module_type

__all__ = ["Crop", "CropOptions"]


class CropOptions(ModuleOptions):
    type: Literal["crop@1"]
    x: int = Field(ge=0, description="Left edge in pixels.")
    y: int = Field(ge=0, description="Top edge in pixels.")
    width: int = Field(gt=0, description="Width in pixels (clipped at the image border).")
    height: int = Field(gt=0, description="Height in pixels (clipped at the image border).")


@module_type
class Crop(Module):
    prepares_image = True
    options_model = CropOptions
    options: CropOptions

    def run(self, context: Context) -> None:
        o = self.options
        height, width = context["image"].shape[:2]
        if o.x >= width or o.y >= height:
            raise FlowError(f"crop origin ({o.x}, {o.y}) lies outside the {width}x{height} image")
        rows, cols = slice(o.y, min(o.y + o.height, height)), slice(o.x, min(o.x + o.width, width))
        transform_context(context, lambda array, _: array[rows, cols])
