"""Surface detection: marks defect pixels by class, trained from images with masks.

Per image it adds its defect probability to the heatmap (0.5, the decision level,
sits at half the maximum red, as the anomaly module's threshold does), puts a
rectangle (``source.type`` ``SUPERVISED``) around every connected region of a class
at or above the threshold with its class, area and peak probability, lists the
classes found in ``surfaceClasses`` (as ``classNames`` entries, PEKAT's type), and
sets ``result`` to False when it found a region of a class in ``nok_classes`` (every
class, unless set).

Like the other trained modules it refuses to judge an image far from its training
images: a "cannot inspect" error and ``result`` False.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ..context import add_heatmap
from ..errors import DatasetError
from ..evaluation.segmentation import (
    SegmentationEvaluation,
    SegmentationEvaluator,
    SegmentationSample,
    SegmentationSet,
    load_segmentation_set,
)
from ..imaging.io import ReadOnDemand, read_image_file
from ..imaging.regions import find_regions
from ..imaging.render import as_bgr
from ..models.surface import SurfaceConfig, SurfaceModel
from ..results import ClassName, add_rectangles, region_rectangles
from ..types import Context, Image
from ._trained import FindingOptions, ModelModule
from .base import (
    Mask,
    Progress,
    ProjectPath,
    TrainingData,
    TrainingSources,
)
from .classifier import PALETTE
from .registry import module_type

__all__ = ["SurfaceModule", "SurfaceOptions"]


class SurfaceOptions(FindingOptions):
    type: Literal["surface@1"]
    model: SurfaceConfig = Field(
        default_factory=SurfaceConfig, description="How the model is built and trained."
    )
    data: ProjectPath = Field(
        "data",
        description="Folder in the project with images/ and masks/ (or the MVTec layout).",
    )
    threshold: float = Field(
        0.5, gt=0, lt=1, description="Probability at which a pixel is marked as its class."
    )
    min_defect_area: int = Field(
        0, ge=0, description="Regions smaller than this (pixels) are ignored."
    )


@module_type
class SurfaceModule(ModelModule[SurfaceModel]):
    """Surface detection: marks defect pixels by class, trained from images with masks."""

    options_model = SurfaceOptions
    options: SurfaceOptions
    model_type = SurfaceModel
    class_option = "nok_classes"
    learns_from = TrainingData.MASKED_IMAGES

    # ---- training and evaluation ---------------------------------------------------------

    def fit(self, sources: TrainingSources, progress: Progress | None = None) -> dict[str, Any]:
        """Learn from ``--data`` (images/ + masks/, or MVTec) or the options' folder."""
        folder, data = self.training_data(sources, self.options.data, load_segmentation_set)
        pairs = ReadOnDemand(data.samples, self._prepared_pair(data))
        model = SurfaceModel.fit(pairs, data.classes, self.options.model, progress)
        return self.keep_trained(model, [folder], [])

    def _prepared_pair(
        self, data: SegmentationSet
    ) -> Callable[[SegmentationSample], tuple[Image, Mask]]:
        """Reads a sample's image and class mask, prepared as the flow prepares images
        before this module (masks follow the same geometry)."""

        def read(sample: SegmentationSample) -> tuple[Image, Mask]:
            raw = read_image_file(sample.image)
            truth = sample.read_mask(raw.shape[:2], len(data.classes))
            image, mask = self.preparation(raw, truth)
            assert mask is not None  # preparation keeps a mask it was given
            return as_bgr(image), mask

        return read

    def training_options(self) -> dict[str, Any]:
        # threshold, area and classes act on the probabilities; the model depends on these.
        return self.options.model_dump(mode="json", include={"model"})

    def evaluate(
        self, dataset: Path, progress: Progress | None = None, keep_examples: bool = False
    ) -> SegmentationEvaluation:
        data = load_segmentation_set(dataset)
        if list(data.classes) != self._model.classes:
            raise DatasetError(
                f"{dataset}: classes {', '.join(data.classes)} differ from the model's "
                f"({', '.join(self._model.classes)})"
            )
        evaluator = SegmentationEvaluator(data)
        for done, sample in enumerate(data.samples, 1):
            raw = read_image_file(sample.image)
            truth = sample.read_mask(raw.shape[:2], len(data.classes))
            image, prepared_truth = self.preparation(raw, truth)
            assert prepared_truth is not None  # preparation keeps a mask it was given
            started = time.perf_counter()
            marked = SurfaceModel.class_mask(
                self._model.predict(as_bgr(image)), self.options.threshold
            )
            ms = (time.perf_counter() - started) * 1000
            evaluator.add(sample.image.stem, image, marked, prepared_truth, ms)
            if progress:
                progress(done, len(data.samples), "eval")
        return evaluator.result

    # ---- inspection ------------------------------------------------------------------------

    def run(self, context: Context) -> None:
        image: Image = context["image"]
        if self.refused(context, image, self.options.input_checks):
            return
        prediction = self._model.predict(image)
        threshold = self.options.threshold
        heat = prediction.probabilities.max(axis=2)
        # the decision level at half the maximum red, as every module's threshold
        add_heatmap(context, (heat * (0.5 / threshold)).clip(0.0, 1.0))
        marked = SurfaceModel.class_mask(prediction, threshold)
        found: list[ClassName] = []
        for index, name in enumerate(prediction.classes):
            probability = prediction.probabilities[:, :, index] * (marked == index + 1)
            regions = find_regions(probability, threshold, self.options.min_defect_area)
            if not regions:
                continue
            colour = PALETTE[(index + 1) % len(PALETTE)]
            found.append(ClassName(name, regions[0].peak, colour, index + 1))
            add_rectangles(
                context,
                region_rectangles(regions, threshold, name, colour, self.module_id, "SUPERVISED"),
            )
        # PEKAT lists each class found once, as a classNames entry.
        listed = {entry.get("label") for entry in context["surfaceClasses"]}
        context["surfaceClasses"] += [c.as_context() for c in found if c.label not in listed]
        nok_classes = self.options.nok_classes
        if any(nok_classes is None or c.label in nok_classes for c in found):
            context["result"] = False
