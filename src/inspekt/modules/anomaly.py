"""Anomaly Detector: learns what good parts look like and flags anything else.

Trained from good images only (defect images, when given, only tune the
threshold). Per image it sets ``score`` and ``threshold`` on the model's
normalised scale — 0 is a typical good patch, the calibrated threshold is 0.5,
1.0 is twice as far from good — adds its heat to the heatmap (the threshold
sits at half the maximum red), boxes every connected region above the threshold
as an ``anomaly`` rectangle, and sets ``result`` to False when the score reaches
the threshold.

Before it judges an image it checks it against what the training images looked
like (``input_checks``: size, aspect, lighting, degenerate frames, format; see
:mod:`inspekt.models.input_profile`). An image too far outside that — a black
frame, a 1x1 image, another camera — is not scored: the module records a
"cannot inspect" error and sets ``result`` to False (a part that was not
inspected never passes), with no score, heat or rectangles. ``inspect`` (and so
``inspekt eval``) scores every image without these checks: they guard the line,
not the benchmark.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
from pydantic import Field

from ..context import add_heatmap
from ..errors import ProjectError
from ..evaluation.anomaly import AnomalyEvaluation, AnomalyEvaluator, load_anomaly_dataset
from ..evaluation.dataset import read_mask as read_ground_truth
from ..imaging.io import ImageFiles, list_images, read_image_file
from ..imaging.regions import Rect, Region, find_regions, masked, read_mask, roi_view
from ..imaging.render import as_bgr
from ..models.anomaly import AnomalyConfig, AnomalyModel
from ..models.input_profile import InputChecks
from ..results import add_rectangles, region_rectangles
from ..types import Context, HeatMap, Image
from ._trained import ModelModule
from .base import (
    ModuleEnv,
    ModuleOptions,
    Progress,
    ProjectPath,
    TrainingData,
    TrainingSources,
)
from .registry import module_type

__all__ = ["RECOMMENDED_GOOD_IMAGES", "AnomalyFinding", "AnomalyModule", "AnomalyOptions"]

#: Fewer good images than this train a model, with a warning: a part's normal
#: variation (position, lighting, texture) needs examples to be learnt as normal.
RECOMMENDED_GOOD_IMAGES = 20


class AnomalyFinding(NamedTuple):
    """What the module found in one image, before it is written into the context."""

    score: float
    threshold: float
    heat: HeatMap
    regions: list[Region]
    nok: bool


class AnomalyOptions(ModuleOptions):
    type: Literal["anomaly@1"]
    model: AnomalyConfig = Field(
        default_factory=AnomalyConfig, description="How the model is built and trained."
    )
    threshold: float | None = Field(
        None,
        gt=0,
        le=100,
        description="Override the calibrated threshold (0.5 on the normalised scale).",
    )
    sensitivity: float = Field(
        1.0,
        gt=0,
        le=10,
        description="Above 1 flags smaller deviations; the threshold is divided by it.",
    )
    min_defect_area: int = Field(
        0, ge=0, description="Regions smaller than this (pixels) are ignored."
    )
    roi: Rect | None = Field(None, description="Only this rectangle of the image is inspected.")
    mask: ProjectPath | None = Field(
        None, description="PNG in the project: white is inspected, black ignored."
    )
    good_images: ProjectPath = Field(
        "images/good", description="Folder of good images in the project."
    )
    defect_images: ProjectPath | None = Field(None, description="Optional folder of defect images.")
    class_name: str = Field("anomaly", min_length=1, description="Label of the rectangles.")
    color: str = Field(
        "#ff0000", pattern=r"^#[0-9a-fA-F]{6}$", description="Colour of the rectangles."
    )
    input_checks: InputChecks = Field(
        default_factory=InputChecks,
        description="Images too far from the training images (size, aspect, lighting, "
        "degenerate frames, format) are not judged: error, result false, no score.",
    )


@module_type
class AnomalyModule(ModelModule[AnomalyModel]):
    """Anomaly Detector: learns what good parts look like and flags anything else."""

    options_model = AnomalyOptions
    options: AnomalyOptions
    model_type = AnomalyModel
    learns_from = TrainingData.GOOD_IMAGES

    def __init__(self, options: AnomalyOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self.mask = read_mask(env.project_dir / options.mask) if options.mask else None

    @property
    def threshold(self) -> float:
        base = self.options.threshold
        if base is None:
            base = self._model.threshold
        return base / self.options.sensitivity

    # ---- training and evaluation ---------------------------------------------------------

    def fit(self, sources: TrainingSources, progress: Progress | None = None) -> dict[str, Any]:
        """Learn from good images.

        They come from ``--good``, ``--data`` (MVTec ``train/good``) or the options' folder.
        """
        root = self.env.project_dir
        if sources.good is not None:
            good_dir = sources.good
        elif sources.data is not None:
            good_dir = load_anomaly_dataset(sources.data).root / "train" / "good"
        else:
            good_dir = root / self.options.good_images
        defects = self.options.defect_images
        defects_dir = sources.defects or (root / defects if defects else None)
        good = self._training_images(good_dir)
        model = AnomalyModel.fit(
            good,
            self.options.model,
            defect_images=self._training_images(defects_dir) if defects_dir else None,
            progress=progress,
        )
        folders = [good_dir] if defects_dir is None else [good_dir, defects_dir]
        warnings = []
        if len(good) < RECOMMENDED_GOOD_IMAGES:
            warnings.append(
                f"module '{self.name}' learnt from {len(good)} good images; "
                f"{RECOMMENDED_GOOD_IMAGES} or more cover a part's normal variation better"
            )
        return self.keep_trained(model, folders, warnings)

    def training_options(self) -> dict[str, Any]:
        # The threshold, sensitivity, labels and masks act on the map at run time;
        # only the model settings and what part of the image it learnt change it.
        return self.options.model_dump(mode="json", include={"model", "roi"})

    def evaluate(
        self, dataset: Path, progress: Progress | None = None, keep_examples: bool = False
    ) -> AnomalyEvaluation:
        data = load_anomaly_dataset(dataset)
        evaluator = AnomalyEvaluator(data, self.threshold, keep_maps=keep_examples)
        for done, sample in enumerate(data.test, 1):
            truth = read_ground_truth(sample.mask_path) if sample.mask_path else None
            image, truth = self.preparation(read_image_file(sample.path), truth)
            started = time.perf_counter()
            finding = self.inspect(image)
            ms = (time.perf_counter() - started) * 1000
            evaluator.add(
                sample, finding.heat, finding.score, finding.nok, ms, finding.regions, truth
            )
            if progress:
                progress(done, len(data.test), "eval")
        return evaluator.result()

    # ---- inspection ------------------------------------------------------------------------

    def anomaly_map(self, image: Image) -> HeatMap:
        """The normalised anomaly map at the image's size, zero outside ROI and mask."""
        bgr = as_bgr(image)
        height, width = bgr.shape[:2]
        if self.options.roi is None:
            full = self._model.predict(bgr).anomaly_map
        else:
            rows, cols = self.options.roi.clipped(height, width)
            full = np.zeros((height, width), np.float32)
            if rows.stop > rows.start and cols.stop > cols.start:
                full[rows, cols] = self._model.predict(bgr[rows, cols]).anomaly_map
        return full if self.mask is None else masked(full, self.mask)

    def inspect(self, image: Image, ignore: np.ndarray | None = None) -> AnomalyFinding:
        """Score one image: its map, score and defect regions (what ``run`` reports).

        ``ignore`` is the flow's mask (0 = ignored) set by a Mask module.
        """
        heat = self.anomaly_map(image)
        if ignore is not None:
            heat = masked(heat, ignore)
        threshold = self.threshold
        score = float(heat.max()) if heat.size else 0.0
        regions = find_regions(heat, threshold, self.options.min_defect_area)
        nok = bool(regions) if self.options.min_defect_area else score >= threshold
        return AnomalyFinding(score, threshold, heat, regions, nok)

    def run(self, context: Context) -> None:
        view = roi_view(context["image"], self.options.roi)
        if self.refused(context, view, self.options.input_checks):
            return
        finding = self.inspect(context["image"], context.get("mask"))
        add_heatmap(context, np.clip(finding.heat / (2 * finding.threshold), 0.0, 1.0))
        context["score"] = max(finding.score, context["score"] or 0.0)
        context["threshold"] = finding.threshold
        rectangles = region_rectangles(
            finding.regions, finding.threshold, self.options.class_name, self.options.color,
            self.module_id, "UNSUPERVISED",
        )
        add_rectangles(context, rectangles)
        if finding.nok:
            context["result"] = False

    def _training_images(self, folder: Path) -> ImageFiles:
        """A folder's images as the model sees them in the flow, read one at a time.

        Prepared as the flow will hand them over (crops, resizes... before this module),
        then cut to the ROI.
        """
        paths = list_images(folder)
        if not paths:
            raise ProjectError(f"{folder}: no images (.jpg, .png, .bmp, .tif) found")
        return ImageFiles(paths, self._model_input)

    def _model_input(self, image: Image) -> Image:
        return roi_view(as_bgr(self.preparation(image)[0]), self.options.roi)
