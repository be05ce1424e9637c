"""Segmentation metrics summed over a dataset, and the report's worst images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inspekt.evaluation import segmentation
from inspekt.evaluation.segmentation import SegmentationEvaluator, SegmentationSet


def test_iou_is_summed_over_images_and_the_worst_are_drawn(tmp_path: Path) -> None:
    evaluator = SegmentationEvaluator(SegmentationSet(tmp_path, ("crack", "pit"), ()))
    image = np.full((40, 60, 3), 90, np.uint8)
    truth = np.zeros((40, 60), np.uint8)
    truth[10:20, 10:30] = 1  # 200 crack pixels
    half = truth.copy()
    half[10:20, 20:30] = 0  # marks 100 of them
    evaluator.add("half", image, half, truth, 2.0)
    evaluator.add("exact", image, truth, truth, 4.0)
    evaluator.add("nothing", image, np.zeros_like(truth), np.zeros_like(truth), 3.0)
    result = evaluator.result.as_json()
    assert result["per_class"]["crack"] == {"iou": 0.75, "dice": round(600 / 700, 4)}
    assert result["per_class"]["pit"] == {"iou": None, "dice": None}
    assert result["iou"] == 0.75 and result["n_images"] == 3 and result["ms_per_image_p50"] == 3.0
    written = evaluator.result.write_report(tmp_path / "report")
    assert [p.name for p in written] == ["1_half.png", "metrics.json"]  # only it was wrong
    drawn = cv2.imread(str(written[0]))
    assert drawn.shape[0] > 40  # the legend under the image
    top = drawn[:40]
    assert ((top[..., 0] > 200) & (top[..., 1] < 60) & (top[..., 2] > 200)).any()  # truth
    assert ((top[..., 0] < 60) & (top[..., 1] < 60) & (top[..., 2] > 200)).any()  # marked


def test_only_the_images_with_most_wrong_pixels_are_kept(tmp_path: Path) -> None:
    evaluator = SegmentationEvaluator(SegmentationSet(tmp_path, ("defect",), ()))
    image = np.zeros((20, 20), np.uint8)
    for wrong in range(1, segmentation.SHOWN_IMAGES + 4):
        predicted = np.zeros((20, 20), np.uint8)
        predicted.flat[:wrong] = 1
        evaluator.add(f"w{wrong}", image, predicted, np.zeros_like(predicted), 1.0)
    kept = sorted(w.wrong for w in evaluator.result.worst)
    assert kept == list(range(4, segmentation.SHOWN_IMAGES + 4))
