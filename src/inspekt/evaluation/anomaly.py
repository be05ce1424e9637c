"""Anomaly metrics over an MVTec-layout test set, fed one scored image at a time.

The anomaly module scores each test image exactly as it runs in the flow (ROI,
mask, sensitivity, threshold) and hands the result to an
:class:`AnomalyEvaluator`; the time per image is everything the module does for
it. Pixel AUROC is computed on maps and masks scaled to at most ``PIXEL_SIDE``
pixels on the longer side, so memory stays bounded on large sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import DatasetError
from ..types import HeatMap
from .dataset import MvtecDataset, Sample, ScoredSample, load_mvtec, read_mask
from .metrics import auroc, f1_at_threshold, pixel_auroc
from .report import write_report

__all__ = ["AnomalyEvaluation", "AnomalyEvaluator", "ScoredSample", "load_anomaly_dataset"]

PIXEL_SIDE = 512
MVTEC_LAYOUT = (
    "train/good/, test/good/, test/<defect>/ and optional ground_truth/<defect>/<stem>_mask.png"
)


@dataclass
class AnomalyEvaluation:
    """Metrics plus every scored sample (for reports)."""

    threshold: float
    samples: list[ScoredSample]
    image_auroc: float | None
    pixel_auroc: float | None
    f1: float
    per_class_recall: dict[str, float]
    ms: list[float] = field(default_factory=list)
    #: Each test image's map, when kept for the report.
    maps: dict[Path, HeatMap] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The ``eval --json`` object (keys fixed by the CLI contract)."""
        return {
            "image_auroc": _round(self.image_auroc),
            "pixel_auroc": _round(self.pixel_auroc),
            "f1": _round(self.f1),
            "n_images": len(self.samples),
            "ms_per_image_p50": _round(float(np.percentile(self.ms, 50))),
            "ms_per_image_p95": _round(float(np.percentile(self.ms, 95))),
            "threshold": _round(self.threshold),
            "per_class_recall": {k: _round(v) for k, v in self.per_class_recall.items()},
        }

    def write_report(self, folder: Path) -> list[Path]:
        """ROC curve, score histogram, the worst misses and metrics.json."""
        return write_report(self, folder)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def load_anomaly_dataset(root: Path) -> MvtecDataset:
    """The dataset, or a DatasetError that lists the layout expected."""
    try:
        return load_mvtec(root)
    except (DatasetError, OSError) as exc:
        reason = exc.message if isinstance(exc, DatasetError) else str(exc)
        raise DatasetError(
            f"{root}: not an anomaly dataset ({reason}); expected {MVTEC_LAYOUT}"
        ) from exc


class AnomalyEvaluator:
    """Collects each test image's score and map, then computes the metrics."""

    def __init__(self, dataset: MvtecDataset, threshold: float, keep_maps: bool = False) -> None:
        self.dataset = dataset
        self.threshold = threshold
        self.keep_maps = keep_maps
        self._scored: list[ScoredSample] = []
        self._masks: list[np.ndarray] = []
        self._maps: list[np.ndarray] = []
        self._kept: dict[Path, HeatMap] = {}

    def add(self, sample: Sample, heat: HeatMap, score: float, nok: bool, ms: float) -> None:
        self._scored.append(ScoredSample(sample, score, nok, ms))
        if self.dataset.has_masks:
            mask = (
                read_mask(sample.mask_path)
                if sample.mask_path
                else np.zeros(heat.shape[:2], np.uint8)
            )
            small_map, small_mask = _shrink(heat, mask)
            self._maps.append(small_map)
            self._masks.append(small_mask)
        if self.keep_maps:
            self._kept[sample.path] = heat

    def result(self) -> AnomalyEvaluation:
        evaluation = _summarise(self._scored, self.threshold, self._masks, self._maps)
        evaluation.maps = self._kept
        return evaluation


def _shrink(heat: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = heat.shape
    if mask.shape != heat.shape:
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
    scale = PIXEL_SIDE / max(height, width)
    if scale >= 1:
        return heat, mask
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return (
        cv2.resize(heat, size, interpolation=cv2.INTER_AREA),
        cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST),
    )


def _summarise(
    scored: list[ScoredSample], threshold: float, masks: list[np.ndarray], maps: list[np.ndarray]
) -> AnomalyEvaluation:
    labels = np.array([s.sample.label for s in scored])
    scores = np.array([s.score for s in scored])
    both_classes = 0 < labels.sum() < len(labels)
    recall: dict[str, float] = {}
    for name in sorted({s.sample.defect_type for s in scored}):
        group = [s for s in scored if s.sample.defect_type == name]
        # recall of "good" is the share passed as OK; of a defect, the share flagged
        hits = [(not s.nok) if s.sample.label == 0 else s.nok for s in group]
        recall[name] = float(np.mean(hits))
    predicted = np.array([s.nok for s in scored], dtype=float)
    has_defect_pixels = any(mask.any() for mask in masks)
    return AnomalyEvaluation(
        threshold=threshold,
        samples=scored,
        image_auroc=auroc(labels, scores) if both_classes else None,
        pixel_auroc=pixel_auroc(masks, maps) if masks and has_defect_pixels else None,
        f1=f1_at_threshold(labels, predicted, 0.5),
        per_class_recall=recall,
        ms=[s.ms for s in scored],
    )
