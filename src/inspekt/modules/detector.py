"""Detector: finds objects or defects of the trained classes and boxes them.

Trained from boxes (YOLO txt or COCO JSON). Per image it adds a rectangle
(``source.type`` ``DETECTOR``) for every box at or above ``min_confidence``, with its
class in ``classNames`` and its confidence, and sets ``result`` to False when it
found a box of a class in ``nok_classes`` (every class, unless set).

Like the other trained modules it refuses to judge an image far from its training
images: a "cannot inspect" error and ``result`` False.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ..errors import DatasetError
from ..evaluation.detection import (
    Box,
    DetectionEvaluation,
    DetectionEvaluator,
    DetectionSample,
    load_detection_set,
)
from ..imaging.io import ReadOnDemand, read_image_file
from ..imaging.render import as_bgr
from ..models.detector import DetectorConfig, DetectorModel
from ..results import ClassName, Rectangle, add_rectangles
from ..types import Context, Image
from ._trained import FindingOptions, ModelModule
from .base import (
    Progress,
    ProjectPath,
    TrainingData,
    TrainingSources,
)
from .classifier import PALETTE
from .registry import module_type

__all__ = ["DetectorModule", "DetectorOptions"]


class DetectorOptions(FindingOptions):
    type: Literal["detector@1"]
    model: DetectorConfig = Field(
        default_factory=DetectorConfig, description="How the model is built and trained."
    )
    data: ProjectPath = Field(
        "data", description="Folder in the project with YOLO (images/, labels/) or COCO data."
    )
    min_confidence: float = Field(
        0.3, gt=0, le=1, description="Boxes below this confidence are not reported."
    )


@module_type
class DetectorModule(ModelModule[DetectorModel]):
    """Detector: finds objects or defects of the trained classes and boxes them."""

    options_model = DetectorOptions
    options: DetectorOptions
    model_type = DetectorModel
    class_option = "nok_classes"
    learns_from = TrainingData.BOXED_IMAGES

    # ---- training and evaluation ---------------------------------------------------------

    def fit(self, sources: TrainingSources, progress: Progress | None = None) -> dict[str, Any]:
        """Learn from ``--data`` (YOLO or COCO) or the options' folder."""
        folder, data = self.training_data(sources, self.options.data, load_detection_set)
        boxed = ReadOnDemand(data.samples, _boxed_image)
        model = DetectorModel.fit(boxed, data.classes, self.options.model, progress)
        warnings = []
        if self.preparation.modules:
            warnings.append(
                f"module '{self.name}' learnt from images as read: boxes are not moved with "
                "the image-preparing modules before it"
            )
        return self.keep_trained(model, [folder], warnings)

    def training_options(self) -> dict[str, Any]:
        # confidence and classes act on the boxes found; the model depends on these.
        return self.options.model_dump(mode="json", include={"model"})

    def evaluate(
        self, dataset: Path, progress: Progress | None = None, keep_examples: bool = False
    ) -> DetectionEvaluation:
        data = load_detection_set(dataset)
        if list(data.classes) != self._model.classes:
            raise DatasetError(
                f"{dataset}: classes {', '.join(data.classes)} differ from the model's "
                f"({', '.join(self._model.classes)})"
            )
        evaluator = DetectionEvaluator(data, self.options.min_confidence)
        for done, sample in enumerate(data.samples, 1):
            image = as_bgr(read_image_file(sample.image))
            started = time.perf_counter()
            found = self._model.predict(image)
            evaluator.add(sample, found, (time.perf_counter() - started) * 1000)
            if progress:
                progress(done, len(data.samples), "eval")
        return evaluator.result

    # ---- inspection ------------------------------------------------------------------------

    def run(self, context: Context) -> None:
        image: Image = context["image"]
        if self.refused(context, image, self.options.input_checks):
            return
        least = self.options.min_confidence
        found = [box for box in self._model.predict(image) if box.confidence >= least]
        add_rectangles(context, [self._rectangle(box, image) for box in found])
        nok_classes = self.options.nok_classes
        names = [self._model.classes[box.label] for box in found]
        if any(nok_classes is None or name in nok_classes for name in names):
            context["result"] = False

    def _rectangle(self, box: Box, image: Image) -> Rectangle:
        height, width = image.shape[:2]
        x0, y0 = max(0, round(box.x0)), max(0, round(box.y0))
        x1, y1 = min(width, round(box.x1)), min(height, round(box.y1))
        confidence = round(box.confidence, 4)
        name = ClassName(
            self._model.classes[box.label], confidence, PALETTE[box.label % len(PALETTE)],
            box.label + 1,
        )
        return Rectangle(
            x0, y0, max(1, x1 - x0), max(1, y1 - y0), confidence, (name,), self.module_id,
            "DETECTOR",
        )


def _boxed_image(sample: DetectionSample) -> tuple[Image, Sequence[Box]]:
    return as_bgr(read_image_file(sample.image)), sample.boxes
