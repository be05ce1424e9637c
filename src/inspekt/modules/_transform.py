"""Apply one geometric change to every image-shaped thing in the context.

The image, the mask of ignored regions and any heat already computed must stay
aligned, so preprocessing modules change them together.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ..types import Context

__all__ = ["Transform", "transform_context"]

#: (array, interpolation flag) -> transformed array
Transform = Callable[[np.ndarray, int], np.ndarray]


def transform_context(context: Context, transform: Transform) -> None:
    """Transform the image (linear), mask (nearest) and heatmap (linear)."""
    context["image"] = np.ascontiguousarray(transform(context["image"], cv2.INTER_LINEAR))
    if context.get("mask") is not None:
        context["mask"] = np.ascontiguousarray(transform(context["mask"], cv2.INTER_NEAREST))
    if context.get("heatmap") is not None:
        context["heatmap"] = np.ascontiguousarray(transform(context["heatmap"], cv2.INTER_LINEAR))
