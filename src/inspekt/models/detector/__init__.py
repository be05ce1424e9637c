"""Object detector: a pretrained EfficientNet-Lite with a centre-point head, trained on boxes."""

from __future__ import annotations

from ._config import DetectorConfig
from ._model import DetectorModel

__all__ = ["DetectorConfig", "DetectorModel"]
