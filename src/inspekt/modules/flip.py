"""Flip: mirror the image horizontally, vertically or both."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..types import Context
from ._transform import transform_context
from .base import Module, ModuleOptions
from .registry import module_type

__all__ = ["Flip", "FlipOptions"]

_AXES = {"horizontal": (1,), "vertical": (0,), "both": (0, 1)}


class FlipOptions(ModuleOptions):
    type: Literal["flip@1"]
    direction: Literal["horizontal", "vertical", "both"] = Field(
        "horizontal", description="horizontal mirrors left-right."
    )


@module_type
class Flip(Module):
    prepares_image = True
    options_model = FlipOptions
    options: FlipOptions

    def run(self, context: Context) -> None:
        axes = _AXES[self.options.direction]
        transform_context(context, lambda array, _: np.flip(array, axes))
