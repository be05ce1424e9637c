"""Surface detection: a pretrained EfficientNet-Lite with a light decoder, trained on masks."""

from __future__ import annotations

from ._config import SurfaceConfig
from ._model import SurfaceModel, SurfacePrediction

__all__ = ["SurfaceConfig", "SurfaceModel", "SurfacePrediction"]
