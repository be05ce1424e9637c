"""DetectorModel: fit on images with boxes, save/load a crash-safe folder, predict boxes."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from ...errors import TrainingError
from ...evaluation.detection import Box
from ...types import Image, Progress
from .. import storage
from ..input_profile import InputProfile
from ..network_model import NetworkModel, read_squares, with_input_size
from ._config import DetectorConfig
from ._decode import decode

KIND = "inspekt.detector.efficientnet-centres"
AUTO_INPUT_RANGE = (64, 640)


class DetectorModel(NetworkModel[DetectorConfig]):
    """A pretrained network with a centre-point head, trained to box objects by class."""

    kind = KIND
    config_type = DetectorConfig

    def predict(self, image: Image) -> list[Box]:
        """Boxes in image pixels, strongest first, down to a confidence of 0.05."""
        heat, log_size, offset = self.run_network(image)
        size = self.input_size
        scale = (image.shape[1] / size, image.shape[0] / size)
        return decode(
            heat[0], log_size[0], offset[0], scale, self.config.max_detections,
            self.config.nms_iou,
        )

    # ---- fit -----------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        samples: Sequence[tuple[Image, Sequence[Box]]],
        classes: Sequence[str],
        config: DetectorConfig | None = None,
        progress: Progress | None = None,
    ) -> DetectorModel:
        """Train on (image, boxes in its pixels) pairs, read one at a time."""
        from ._network import train  # torch is needed to train only

        config = config or DetectorConfig()
        started = time.perf_counter()
        if not classes:
            raise TrainingError("a detector needs one or more classes")
        if len(samples) < 4:
            raise TrainingError(f"{len(samples)} images; a detector needs 4 or more")
        config = with_input_size(
            config, len(samples), lambda i: samples[i][0], AUTO_INPUT_RANGE
        )
        size = config.input_size or 0
        boxes: list[npt.NDArray[np.float32]] = []

        def images() -> Iterator[Image]:  # each read once, its boxes scaled to the square
            for image, found in samples:
                sx, sy = size / image.shape[1], size / image.shape[0]
                boxes.append(np.array(
                    [[b.label, b.x0 * sx, b.y0 * sy, b.x1 * sx, b.y1 * sy] for b in found],
                    np.float32,
                ).reshape(-1, 5))
                yield image

        squares, stats = read_squares(images(), len(samples), size, progress)
        with squares:
            if not any(len(b) for b in boxes):
                raise TrainingError("no image has a box: nothing to learn")
            network_onnx, found = train(squares, boxes, len(classes), config, progress)
        counts = np.bincount(
            np.concatenate([b[:, 0].astype(np.int64) for b in boxes]), minlength=len(classes)
        )
        training = {
            "images": len(squares),
            "boxes_per_class": {name: int(c) for name, c in zip(classes, counts, strict=True)},
            **found,
            "duration_s": round(time.perf_counter() - started, 1),
            **storage.provenance(("inspekt", "numpy", "onnxruntime", "torch", "onnx")),
        }
        return cls(config, classes, network_onnx, InputProfile.from_stats(stats), training)

