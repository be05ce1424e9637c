"""Normalize: even out brightness and contrast before the models see the image.

``linear`` applies ``out = alpha * in + beta``; ``stretch`` maps the image's own
darkest/brightest percentiles to 0/255 (robust to a few hot pixels); ``clahe``
equalises contrast locally, which tames uneven lighting.
"""

from __future__ import annotations

from typing import Literal, cast

import cv2
import numpy as np
from pydantic import Field

from ..types import Context, Image
from .base import Module, ModuleOptions
from .registry import module_type

__all__ = ["Normalize", "NormalizeOptions", "normalize"]


class NormalizeOptions(ModuleOptions):
    type: Literal["normalize@1"]
    method: Literal["linear", "stretch", "clahe"] = Field(
        "stretch", description="How to normalise."
    )
    alpha: float = Field(1.0, gt=0, le=20, description="linear: contrast gain.")
    beta: float = Field(0.0, ge=-255, le=255, description="linear: brightness offset.")
    percentile: float = Field(
        1.0, ge=0, lt=50, description="stretch: share of pixels clipped at each end (%)."
    )
    clip_limit: float = Field(2.0, gt=0, le=40, description="clahe: contrast limit.")
    tile: int = Field(8, ge=1, le=64, description="clahe: tiles per side.")


@module_type
class Normalize(Module):
    prepares_image = True
    options_model = NormalizeOptions
    options: NormalizeOptions

    def run(self, context: Context) -> None:
        context["image"] = normalize(context["image"], self.options)


def normalize(image: Image, options: NormalizeOptions) -> Image:
    # cv2's stubs type results as arrays of any numeric dtype; all of these give uint8.
    if options.method == "linear":
        return cast(Image, cv2.convertScaleAbs(image, alpha=options.alpha, beta=options.beta))
    if options.method == "stretch":
        low, high = np.percentile(image, (options.percentile, 100 - options.percentile))
        if high <= low:
            return image
        lut = np.clip((np.arange(256) - low) * 255.0 / (high - low), 0, 255).astype(np.uint8)
        return cast(Image, cv2.LUT(image, lut))
    clahe = cv2.createCLAHE(clipLimit=options.clip_limit, tileGridSize=(options.tile, options.tile))
    if image.ndim == 2:
        return cast(Image, clahe.apply(image))
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
    lab[:, :, 0] = clahe.apply(lab[:, :, 0])
    return cast(Image, cv2.cvtColor(lab, cv2.COLOR_LAB2BGR))
