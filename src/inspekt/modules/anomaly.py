"""Anomaly Detector: learns what good parts look like and flags anything else.

Trained from good images only (defect images, when given, only tune the
threshold). Per image it sets ``score`` and ``threshold`` on the model's
normalised scale — 0 is a typical good patch, the calibrated threshold is 0.5,
1.0 is twice as far from good — adds its heat to the heatmap (the threshold
sits at half the maximum red), boxes every connected region above the threshold
as an ``anomaly`` rectangle, and sets ``result`` to False when the score reaches
the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import cv2
import numpy as np
from pydantic import Field

from ..errors import ProjectError
from ..flow.context import add_heatmap
from ..models.anomaly import AnomalyConfig, AnomalyModel
from ..render import as_bgr
from ..types import Context, HeatMap, Image
from ._registry import register
from ._shapes import Rect
from .base import ModuleEnv, ModuleOptions, Progress, ProjectPath, TrainableModule

__all__ = ["AnomalyFinding", "AnomalyModule", "AnomalyOptions", "find_regions"]


class AnomalyFinding(NamedTuple):
    """What the module found in one image, before it is written into the context."""

    score: float
    threshold: float
    heat: HeatMap
    regions: list[dict[str, float]]
    nok: bool


class AnomalyOptions(ModuleOptions):
    type: Literal["anomaly@1"] = "anomaly@1"
    model: AnomalyConfig = Field(default_factory=AnomalyConfig, description="How the model is built and trained.")
    threshold: float | None = Field(
        None, gt=0, le=100, description="Override the calibrated threshold (0.5 on the normalised scale)."
    )
    sensitivity: float = Field(
        1.0, gt=0, le=10, description="Above 1 flags smaller deviations; the threshold is divided by it."
    )
    min_defect_area: int = Field(0, ge=0, description="Regions smaller than this (pixels) are ignored.")
    roi: Rect | None = Field(None, description="Only this rectangle of the image is inspected.")
    mask: ProjectPath | None = Field(None, description="PNG in the project: white is inspected, black ignored.")
    good_images: ProjectPath = Field("images/good", description="Folder of good images in the project.")
    defect_images: ProjectPath | None = Field(None, description="Optional folder of defect images.")
    class_name: str = Field("anomaly", min_length=1, description="Label of the rectangles.")
    color: str = Field("#ff0000", pattern=r"^#[0-9a-fA-F]{6}$", description="Colour of the rectangles.")


@register("anomaly@1")
class AnomalyModule(TrainableModule):
    options_model = AnomalyOptions
    options: AnomalyOptions

    def __init__(self, options: AnomalyOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self.mask = _read_mask(env.project_dir / options.mask) if options.mask else None
        self.model: AnomalyModel | None = None
        if env.load_models:
            if not self.model_dir.exists():
                raise ProjectError(
                    f"no trained model in {self.model_dir}: run `inspekt train {env.project_dir}`"
                )
            self.model = AnomalyModel.load(self.model_dir)

    @property
    def threshold(self) -> float:
        assert self.model is not None
        base = self.options.threshold if self.options.threshold is not None else self.model.threshold
        return base / self.options.sensitivity

    def default_training_dirs(self) -> tuple[Path | None, Path | None]:
        root = self.env.project_dir
        defects = self.options.defect_images
        return root / self.options.good_images, (root / defects if defects else None)

    def train(
        self, good: Sequence[Image], defects: Sequence[Image], progress: Progress | None = None
    ) -> dict[str, Any]:
        model = AnomalyModel.fit(
            [self._model_input(image) for image in good],
            self.options.model,
            defect_images=[self._model_input(image) for image in defects] or None,
            progress=progress,
        )
        model.save(self.model_dir)
        self.model = model
        return dict(model.training)

    def anomaly_map(self, image: Image) -> HeatMap:
        """The normalised anomaly map at the image's size, zero outside ROI and mask."""
        assert self.model is not None, "model not loaded"
        bgr = as_bgr(image)
        height, width = bgr.shape[:2]
        if self.options.roi is None:
            full = self.model.predict(bgr).anomaly_map
        else:
            rows, cols = self.options.roi.clipped(height, width)
            full = np.zeros((height, width), np.float32)
            if rows.stop > rows.start and cols.stop > cols.start:
                full[rows, cols] = self.model.predict(bgr[rows, cols]).anomaly_map
        return full if self.mask is None else _masked(full, self.mask)

    def inspect(self, image: Image, ignore: np.ndarray | None = None) -> AnomalyFinding:
        """Score one image: its map, score and defect regions (what ``run`` reports).

        ``ignore`` is the flow's mask (0 = ignored) set by a Mask module.
        """
        heat = self.anomaly_map(image)
        if ignore is not None:
            heat = _masked(heat, ignore)
        threshold = self.threshold
        score = float(heat.max()) if heat.size else 0.0
        regions = find_regions(heat, threshold, self.options.min_defect_area)
        nok = bool(regions) if self.options.min_defect_area else score >= threshold
        return AnomalyFinding(score, threshold, heat, regions, nok)

    def run(self, context: Context) -> None:
        finding = self.inspect(context["image"], context.get("mask"))
        add_heatmap(context, np.clip(finding.heat / (2 * finding.threshold), 0.0, 1.0))
        context["score"] = max(finding.score, context["score"] or 0.0)
        context["threshold"] = finding.threshold
        rectangles = context["detectedRectangles"]
        for region in finding.regions:
            rectangles.append(self._rectangle(region, len(rectangles), finding.threshold))
        context["result"] = not finding.nok and context["result"] is not False

    def _rectangle(self, region: dict[str, float], index: int, threshold: float) -> dict[str, Any]:
        confidence = round(min(1.0, region["peak"] / (2 * threshold)), 4)
        return {
            "x": int(region["x"]), "y": int(region["y"]),
            "width": int(region["width"]), "height": int(region["height"]),
            "rotate": 0, "area": int(region["area"]), "confidence": confidence, "id": index,
            "classNames": [
                {"id": 0, "label": self.options.class_name, "confidence": confidence, "color": self.options.color}
            ],
            "source": {"modelId": self.name, "moduleId": self.name, "type": "UNSUPERVISED"},
        }

    def _model_input(self, image: Image) -> Image:
        bgr = as_bgr(image)
        if self.options.roi is None:
            return bgr
        rows, cols = self.options.roi.clipped(*bgr.shape[:2])
        return np.ascontiguousarray(bgr[rows, cols])


def find_regions(heat: HeatMap, threshold: float, min_area: int = 0) -> list[dict[str, float]]:
    """Connected regions of ``heat >= threshold`` with their box, area and peak value."""
    above = (heat >= threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(above, connectivity=8)
    regions = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if area < max(min_area, 1):
            continue
        peak = float(heat[y : y + h, x : x + w][labels[y : y + h, x : x + w] == label].max())
        regions.append({"x": x, "y": y, "width": w, "height": h, "area": area, "peak": peak})
    regions.sort(key=lambda region: region["peak"], reverse=True)
    return regions


def _masked(heat: HeatMap, mask: np.ndarray) -> HeatMap:
    """Zero the heat where the mask is 0 (the mask is resized to the heat's size)."""
    if mask.shape != heat.shape:
        mask = cv2.resize(mask, (heat.shape[1], heat.shape[0]), interpolation=cv2.INTER_NEAREST)
    return np.where(mask > 0, heat, 0.0).astype(np.float32)


def _read_mask(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise ProjectError(f"{path}: mask image not found or not readable")
    return mask
