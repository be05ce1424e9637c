"""Image classifier: a pretrained EfficientNet-Lite given a head, or fine-tuned, per project."""

from __future__ import annotations

from ._config import ClassifierConfig
from ._model import ClassifierModel, ClassifierPrediction

__all__ = ["ClassifierConfig", "ClassifierModel", "ClassifierPrediction"]
