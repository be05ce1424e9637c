"""SurfaceModel: fit on images with class masks, save/load a crash-safe folder, predict."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from ...errors import TrainingError
from ...types import Image, Progress
from .. import storage
from ..input_profile import (
    SIZE_SAMPLE,
    InputProfile,
    InputStats,
    input_stats,
    typical_side,
)
from ..network_model import NetworkModel, network_input
from ._config import SurfaceConfig

KIND = "inspekt.surface.efficientnet-fpn"
#: Bounds of the input size chosen from the data; 384 px keeps training within
#: minutes on two cores.
AUTO_INPUT_RANGE = (64, 384)

Mask = npt.NDArray[np.uint8]


class SurfacePrediction(NamedTuple):
    """Per-pixel probability of each defect class, (H, W, classes), at the image's size."""

    probabilities: npt.NDArray[np.float32]
    classes: list[str]


class SurfaceModel(NetworkModel[SurfaceConfig]):
    """A pretrained network with a decoder, trained to mark defect pixels by class."""

    kind = KIND
    config_type = SurfaceConfig

    def predict(self, image: Image) -> SurfacePrediction:
        """Defect-class probabilities of every pixel of one uint8 image of any size."""
        (probabilities,) = self.run_network(image)
        defects = np.ascontiguousarray(probabilities[0, 1:].transpose(1, 2, 0))
        height, width = image.shape[:2]
        resized = cv2.resize(defects, (width, height), interpolation=cv2.INTER_LINEAR)
        return SurfacePrediction(
            np.asarray(resized, np.float32).reshape(height, width, len(self.classes)),
            self.classes,
        )

    @staticmethod
    def class_mask(prediction: SurfacePrediction, threshold: float = 0.5) -> Mask:
        """Each pixel's most likely defect class index (1, 2, ...) where it reaches the
        threshold, else 0."""
        probabilities = prediction.probabilities
        best = probabilities.argmax(axis=2)
        strong = probabilities.max(axis=2) >= threshold
        return np.where(strong, best + 1, 0).astype(np.uint8)

    # ---- fit -----------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        pairs: Sequence[tuple[Image, Mask]],
        classes: Sequence[str],
        config: SurfaceConfig | None = None,
        progress: Progress | None = None,
    ) -> SurfaceModel:
        """Train on (image, class-index mask) pairs, read one at a time.

        Mask pixels are 0 for background and i for ``classes[i - 1]``.
        """
        from ._network import train  # torch is needed to train only

        config = config or SurfaceConfig()
        started = time.perf_counter()
        if not classes:
            raise TrainingError("a surface model needs one or more defect classes")
        if len(pairs) < 4:
            raise TrainingError(f"{len(pairs)} images; a surface model needs 4 or more")
        if config.input_size is None:
            first = [pairs[i][0] for i in range(min(len(pairs), SIZE_SAMPLE))]
            size = typical_side(first, np.random.default_rng(config.seed), AUTO_INPUT_RANGE)
            config = config.model_copy(update={"input_size": size})
        squares, masks, stats = _read(pairs, config.input_size or 0, progress)
        if not masks.any():
            raise TrainingError("no mask marks a defect pixel: nothing to learn")
        network_onnx, found = train(squares, masks, len(classes), config, progress)
        per_class = {
            name: int((masks.reshape(len(masks), -1) == i).any(1).sum())
            for i, name in enumerate(classes, 1)
        }
        training = {
            "images": len(squares),
            "images_per_class": per_class,
            **found,
            "duration_s": round(time.perf_counter() - started, 1),
            **storage.provenance(("inspekt", "numpy", "onnxruntime", "torch", "onnx")),
        }
        return cls(config, classes, network_onnx, InputProfile.from_stats(stats), training)


def _read(
    pairs: Sequence[tuple[Image, Mask]], size: int, progress: Progress | None
) -> tuple[npt.NDArray[np.uint8], Mask, list[InputStats]]:
    """Every pair once, as squares at the network's size, with the images' statistics."""
    squares, masks, stats = [], [], []
    for done, (image, mask) in enumerate(pairs, 1):
        stats.append(input_stats(image))
        squares.append(network_input(image, size))
        masks.append(cv2.resize(mask, (size, size), interpolation=cv2.INTER_NEAREST))
        if progress:
            progress(done, len(pairs), "read")
    return np.stack(squares), np.stack(masks).astype(np.uint8), stats
