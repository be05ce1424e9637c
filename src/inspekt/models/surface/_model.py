"""SurfaceModel: fit on images with class masks, save/load a crash-safe folder, predict."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from ...errors import TrainingError
from ...types import Image, Progress
from .. import storage
from ..image_store import ImageStore
from ..input_profile import InputProfile
from ..network_model import NetworkModel, read_squares, with_input_size
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
        config = with_input_size(config, len(pairs), lambda i: pairs[i][0], AUTO_INPUT_RANGE)
        size = config.input_size or 0
        masks = ImageStore((size, size))
        marked: list[npt.NDArray[np.bool_]] = []  # per image, the classes its mask marks

        def images() -> Iterator[Image]:  # each pair read once, its mask kept beside
            for image, mask in pairs:
                small = np.asarray(
                    cv2.resize(mask, (size, size), interpolation=cv2.INTER_NEAREST), np.uint8
                )
                masks.append(small)
                marked.append(np.bincount(small.ravel(), minlength=len(classes) + 1)[1:] > 0)
                yield image

        squares, stats = read_squares(images(), len(pairs), size, progress)
        with squares, masks:
            per_image: npt.NDArray[np.bool_] = np.array(marked, bool).reshape(len(pairs), -1)
            if not per_image.any():
                raise TrainingError("no mask marks a defect pixel: nothing to learn")
            network_onnx, found = train(
                squares, masks, np.any(per_image, axis=1), len(classes), config, progress
            )
        per_class = {name: int(per_image[:, i].sum()) for i, name in enumerate(classes)}
        training = {
            "images": len(pairs),
            "images_per_class": per_class,
            **found,
            "duration_s": round(time.perf_counter() - started, 1),
            **storage.provenance(("inspekt", "numpy", "onnxruntime", "torch", "onnx")),
        }
        return cls(config, classes, network_onnx, InputProfile.from_stats(stats), training)

