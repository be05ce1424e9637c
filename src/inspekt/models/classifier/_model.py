"""ClassifierModel: fit on images labelled by class, save/load a crash-safe folder, predict."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ...errors import TrainingError
from ...types import Image, Progress
from .. import storage
from ..input_profile import InputProfile
from ..network_model import NetworkModel, read_squares, with_input_size
from ._config import ClassifierConfig

KIND = "inspekt.classifier.efficientnet"
#: Bounds of the input size chosen from the data: small crops are not blown up past
#: 64 px, and large frames stop at 320 px, which keeps training within minutes on CPU.
AUTO_INPUT_RANGE = (64, 320)


class ClassifierPrediction(NamedTuple):
    """Every class with its probability, most likely first."""

    ranked: list[tuple[str, float]]

    @property
    def label(self) -> str:
        return self.ranked[0][0]

    @property
    def confidence(self) -> float:
        return self.ranked[0][1]


class ClassifierModel(NetworkModel[ClassifierConfig]):
    """A pretrained network fine-tuned (or given a linear head) to tell classes apart."""

    kind = KIND
    config_type = ClassifierConfig
    min_classes = 2

    def predict(self, image: Image) -> ClassifierPrediction:
        """Class probabilities of one BGR (or grayscale) uint8 image of any size."""
        (probabilities,) = self.run_network(image)
        order = np.argsort(-probabilities[0], kind="stable")
        return ClassifierPrediction([(self.classes[i], float(probabilities[0][i])) for i in order])

    # ---- fit -----------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        images: Sequence[Image],
        labels: Sequence[int],
        classes: Sequence[str],
        config: ClassifierConfig | None = None,
        progress: Progress | None = None,
    ) -> ClassifierModel:
        """Train on ``images`` (read one at a time) labelled by index into ``classes``."""
        from ._network import train  # torch is needed to train only

        config = config or ClassifierConfig()
        started = time.perf_counter()
        labels_array = np.asarray(labels, np.int64)
        _check_counts(labels_array, classes)
        config = with_input_size(config, len(images), images.__getitem__, AUTO_INPUT_RANGE)
        squares, stats = read_squares(images, len(images), config.input_size or 0, progress)
        with squares:
            network_onnx, found = train(squares, labels_array, len(classes), config, progress)
        training = {
            "images": len(labels_array),
            "per_class": {name: int((labels_array == i).sum()) for i, name in enumerate(classes)},
            **found,
            "duration_s": round(time.perf_counter() - started, 1),
            **storage.provenance(("inspekt", "numpy", "onnxruntime", "torch", "onnx")),
        }
        return cls(config, classes, network_onnx, InputProfile.from_stats(stats), training)


def _check_counts(labels: npt.NDArray[np.int64], classes: Sequence[str]) -> None:
    if len(classes) < 2:
        raise TrainingError(f"a classifier needs two or more classes, got {list(classes)}")
    for index, name in enumerate(classes):
        count = int((labels == index).sum())
        if count < 2:
            raise TrainingError(
                f"class '{name}' has {count} image(s); each class needs 2 or more "
                "(one is held back to validate)"
            )

