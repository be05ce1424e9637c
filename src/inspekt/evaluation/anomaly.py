"""Anomaly metrics over an MVTec-layout test set, fed one scored image at a time.

The anomaly module scores each test image exactly as it runs in the flow (ROI,
mask, sensitivity, threshold) and hands the result to an
:class:`AnomalyEvaluator`; the time per image is everything the module does for
it. Pixel AUROC and AUPRO are computed on maps and masks scaled to at most
``PIXEL_SIDE`` pixels on the longer side, so memory stays bounded on large sets.
The boxes the module reports are compared with the ground-truth regions at full
size as each image comes in, and only the counts are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import DatasetError
from ..types import HeatMap
from .dataset import MvtecDataset, Sample, ScoredSample, load_mvtec, read_mask
from .metrics import (
    Box,
    Confusion,
    RegionOverlap,
    ZeroEscape,
    aupro,
    auroc,
    confusion,
    f1_at_threshold,
    pixel_auroc,
    region_overlap,
    shrunk_for_pixels,
    zero_escape,
)
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
    #: Image verdicts at the module's threshold (positive = a defect image flagged NOK).
    confusion: Confusion = field(default_factory=lambda: Confusion(0, 0, 0, 0))
    #: None without ground-truth masks.
    aupro: float | None = None
    #: None without defect images.
    zero_escape: ZeroEscape | None = None
    #: Boxes against ground-truth regions, summed over the defect images with a mask;
    #: None without masks, or when the boxes were not given.
    defect_boxes: RegionOverlap | None = None
    #: Defect images with a mask (what ``defect_boxes`` sums over).
    n_masked_defects: int = 0
    #: Boxes reported on good images; None when the boxes were not given.
    good_boxes: int | None = None
    ms: list[float] = field(default_factory=list)
    #: Each test image's map, when kept for the report.
    maps: dict[Path, HeatMap] = field(default_factory=dict)

    @property
    def n_good(self) -> int:
        return sum(1 for s in self.samples if s.sample.label == 0)

    def as_json(self) -> dict[str, Any]:
        """The ``eval --json`` object (keys fixed by the CLI contract)."""
        zero, boxes = self.zero_escape, self.defect_boxes
        return {
            "image_auroc": _round(self.image_auroc),
            "pixel_auroc": _round(self.pixel_auroc),
            "f1": _round(self.f1),
            "n_images": len(self.samples),
            "ms_per_image_p50": _round(float(np.percentile(self.ms, 50))),
            "ms_per_image_p95": _round(float(np.percentile(self.ms, 95))),
            "threshold": _round(self.threshold),
            "per_class_recall": {k: _round(v) for k, v in self.per_class_recall.items()},
            "aupro": _round(self.aupro),
            "confusion": self.confusion.as_dict(),
            "escape_rate": _round(self.confusion.escape_rate),
            "false_reject_rate": _round(self.confusion.false_reject_rate),
            # Not rounded: set as the threshold, it must really let no test defect pass.
            "zero_escape_threshold": zero.threshold if zero else None,
            "false_reject_at_zero_escape": _round(zero.false_reject_rate if zero else None),
            "region_recall": _round(boxes.recall if boxes else None),
            "false_boxes_per_good_image": _round(
                self.good_boxes / self.n_good if self.good_boxes is not None and self.n_good
                else None
            ),
            "false_boxes_per_defect_image": _round(
                boxes.false_boxes / self.n_masked_defects
                if boxes is not None and self.n_masked_defects
                else None
            ),
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
        self._boxes_given = True
        self._defect_boxes = RegionOverlap()
        self._n_masked_defects = 0
        self._good_boxes = 0

    def add(
        self,
        sample: Sample,
        heat: HeatMap,
        score: float,
        nok: bool,
        ms: float,
        regions: Sequence[Box] | None = None,
        truth: np.ndarray | None = None,
    ) -> None:
        """One scored image; ``regions`` are the boxes the module reported (image pixels).

        Without ``regions`` (for any image) the box metrics are null. ``truth`` is
        the sample's ground-truth mask as the module saw the image (after the flow's
        crops and resizes); without it the mask file is read and fitted to the map.
        """
        self._scored.append(ScoredSample(sample, score, nok, ms))
        if regions is None:
            self._boxes_given = False
        elif sample.label == 0:
            self._good_boxes += len(regions)
        mask: np.ndarray | None = None
        if self.dataset.has_masks:
            if truth is None and sample.mask_path:
                truth = read_mask(sample.mask_path)
            shape = heat.shape[:2]
            mask = np.zeros(shape, np.uint8) if truth is None else _fit(truth, shape)
            small_map, small_mask = shrunk_for_pixels(heat, mask, PIXEL_SIDE)
            self._maps.append(small_map)
            self._masks.append(small_mask)
        if mask is not None and regions is not None and sample.label == 1 and sample.mask_path:
            self._defect_boxes += region_overlap(mask, regions)
            self._n_masked_defects += 1
        if self.keep_maps:
            self._kept[sample.path] = heat

    def result(self) -> AnomalyEvaluation:
        evaluation = _summarise(self._scored, self.threshold, self._masks, self._maps)
        evaluation.maps = self._kept
        if self._boxes_given:
            evaluation.good_boxes = self._good_boxes
            if self.dataset.has_masks:
                evaluation.defect_boxes = self._defect_boxes
                evaluation.n_masked_defects = self._n_masked_defects
        return evaluation


def _fit(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The mask at the map's size (the map is at the image's size, where boxes are)."""
    if mask.shape == shape:
        return mask
    return cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


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
    pixels = bool(masks) and has_defect_pixels
    return AnomalyEvaluation(
        threshold=threshold,
        samples=scored,
        image_auroc=auroc(labels, scores) if both_classes else None,
        pixel_auroc=pixel_auroc(masks, maps) if pixels else None,
        f1=f1_at_threshold(labels, predicted, 0.5),
        per_class_recall=recall,
        confusion=confusion(labels, predicted),
        aupro=aupro(masks, maps) if pixels else None,
        zero_escape=zero_escape(labels, scores),
        ms=[s.ms for s in scored],
    )
