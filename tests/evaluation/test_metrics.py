"""Metrics checked against their definitions on small, hand-countable inputs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest

from inspekt.errors import DatasetError
from inspekt.evaluation import (
    RegionOverlap,
    aupro,
    auroc,
    best_f1,
    confusion,
    f1_at_threshold,
    pixel_auroc,
    region_overlap,
    zero_escape,
)
from inspekt.evaluation.metrics import label_regions


def auroc_by_pairs(labels: list[int], scores: list[float]) -> float:
    """P(defect > good) + 0.5 P(tie), counted over every pair."""
    good = [s for s, label in zip(scores, labels, strict=True) if label == 0]
    bad = [s for s, label in zip(scores, labels, strict=True) if label == 1]
    wins = sum((b > g) + 0.5 * (b == g) for b, g in itertools.product(bad, good))
    return wins / (len(good) * len(bad))


def test_auroc_extremes() -> None:
    assert auroc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auroc([0, 0, 1, 1], [0.4, 0.3, 0.2, 0.1]) == 0.0
    assert auroc([0, 1], [0.5, 0.5]) == 0.5


def test_auroc_matches_pair_counting_with_ties() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 60).tolist()
    scores = rng.integers(0, 6, 60).astype(float).tolist()
    assert auroc(labels, scores) == pytest.approx(auroc_by_pairs(labels, scores))


def test_auroc_needs_both_classes_and_binary_labels() -> None:
    with pytest.raises(DatasetError, match="both"):
        auroc([1, 1], [0.1, 0.2])
    with pytest.raises(DatasetError, match="0 .good. or 1"):
        auroc([0, 2], [0.1, 0.2])


def test_pixel_auroc_pools_pixels_of_all_images() -> None:
    masks = [np.array([[0, 1], [0, 0]]), np.zeros((2, 2))]
    maps = [np.array([[0.1, 0.9], [0.2, 0.3]]), np.array([[0.0, 0.95], [0.1, 0.1]])]
    expected = auroc([0, 1, 0, 0, 0, 0, 0, 0], [0.1, 0.9, 0.2, 0.3, 0.0, 0.95, 0.1, 0.1])
    assert pixel_auroc(masks, maps) == pytest.approx(expected)
    with pytest.raises(DatasetError, match="differ in size"):
        pixel_auroc([np.zeros((2, 3))], [np.zeros((2, 2))])


def test_f1_at_threshold_and_best_f1() -> None:
    labels, scores = [0, 0, 1, 1], [0.1, 0.6, 0.5, 0.9]
    # >= 0.5 flags 0.6 (false), 0.5 and 0.9 (true): precision 2/3, recall 1.
    assert f1_at_threshold(labels, scores, 0.5) == pytest.approx(0.8)
    assert f1_at_threshold(labels, scores, 0.95) == 0.0
    assert best_f1(labels, scores) == (pytest.approx(0.8), 0.5)


# ---- AUPRO -----------------------------------------------------------------------------------

def pro_maps(region_two: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Ten good pixels scoring 0.05, 0.15, ..., 0.95 over two images, and two regions:
    A (two pixels, scoring 1.0 and 0.0: half of it found at any threshold in (0, 1])
    and B (one pixel, scoring ``region_two``)."""
    masks = [np.array([[1, 1, 0, 1, 0]]), np.zeros((2, 4))]
    maps = [
        np.array([[1.0, 0.0, 0.05, region_two, 0.15]]),
        np.arange(0.25, 1.0, 0.1).reshape(2, 4),
    ]
    return masks, maps


def test_aupro_by_hand() -> None:
    # B at 0.8, between the good 0.85 and 0.75. Thresholds from the top:
    #   1.0: FPR 0, PRO (1/2 + 0) / 2 = .25;  .95: FPR .1;  .85: FPR .2
    #   .8: B found, PRO (1/2 + 1) / 2 = .75 at FPR .2;  .75: FPR .3
    # Area up to FPR .3: .25 * .2 + .75 * .1 = .125, normalised by .3.
    masks, maps = pro_maps(0.8)
    assert aupro(masks, maps) == pytest.approx(0.125 / 0.3)
    # up to .25: .25 * .2 + .75 * .05 = .0875
    assert aupro(masks, maps, max_fpr=0.25) == pytest.approx(0.0875 / 0.25)


def test_aupro_tie_between_good_and_defect_pixels_and_interpolation() -> None:
    # B ties the good 0.85: FPR and PRO step together, from (.1, .25) to (.2, .75).
    masks, maps = pro_maps(0.85)
    assert aupro(masks, maps) == pytest.approx((0.25 * 0.1 + 0.5 * 0.1 + 0.75 * 0.1) / 0.3)
    # up to .15, PRO interpolated halfway on that sloped step: .5
    expected = 0.25 * 0.1 + (0.25 + 0.5) / 2 * 0.05
    assert aupro(masks, maps, max_fpr=0.15) == pytest.approx(expected / 0.15)


def test_aupro_perfect_and_inverted_maps() -> None:
    mask = np.zeros((6, 6))
    mask[1:3, 1:3] = 1
    mask[4, 5] = 1
    assert aupro([mask], [mask * 0.9 + 0.05]) == 1.0
    assert aupro([mask], [1.0 - mask]) == 0.0
    # a flat map flags everything at once: from (0, 0) straight to (1, 1), read up to .3
    assert aupro([mask], [np.full((6, 6), 0.5)]) == pytest.approx(0.3 * 0.3 / 2 / 0.3)


def test_regions_are_8_connected() -> None:
    _, count = label_regions(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]]))
    assert count == 1
    _, count = label_regions(np.array([[1, 0, 1], [0, 0, 0], [1, 0, 1]]))
    assert count == 4


def aupro_by_thresholds(masks: list[np.ndarray], maps: list[np.ndarray], max_fpr: float) -> float:
    """The definition, literally: a loop over every distinct score as a threshold."""
    regions = []
    for mask, heat in zip(masks, maps, strict=True):
        labels, count = label_regions(mask)
        regions += [heat[labels == n] for n in range(1, count + 1)]
    good = np.concatenate([h[m == 0] for m, h in zip(masks, maps, strict=True)])
    points = [(0.0, 0.0)]
    for t in sorted(set(np.concatenate([h.ravel() for h in maps]).tolist()), reverse=True):
        points.append(
            ((good >= t).mean(), float(np.mean([(r >= t).mean() for r in regions])))
        )
    area = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 >= max_fpr:
            break
        if x1 > max_fpr:
            y1 = y0 + (y1 - y0) * (max_fpr - x0) / (x1 - x0)
            x1 = max_fpr
        area += (x1 - x0) * (y0 + y1) / 2
    return area / max_fpr


@pytest.mark.parametrize("max_fpr", [0.3, 0.05, 1.0])
def test_aupro_matches_the_definition_on_noisy_maps_with_ties(max_fpr: float) -> None:
    rng = np.random.default_rng(7)
    masks, maps = [], []
    for _ in range(4):
        mask = np.zeros((20, 24), np.uint8)
        for _ in range(rng.integers(0, 4)):
            y, x = rng.integers(0, 17), rng.integers(0, 21)
            mask[y : y + rng.integers(1, 4), x : x + rng.integers(1, 4)] = 1
        heat = rng.integers(0, 30, mask.shape) / 30 + 0.3 * mask  # ties, some signal
        masks.append(mask)
        maps.append(heat.astype(np.float32))
    assert sum(label_regions(m)[1] for m in masks) > 2
    expected = aupro_by_thresholds(masks, maps, max_fpr)
    assert 0.05 < expected < 0.95
    assert aupro(masks, maps, max_fpr) == pytest.approx(expected, abs=1e-9)


def test_aupro_needs_regions_and_good_pixels() -> None:
    with pytest.raises(DatasetError, match="ground-truth region"):
        aupro([np.zeros((2, 2))], [np.zeros((2, 2))])
    with pytest.raises(DatasetError, match="ground-truth region"):
        aupro([np.ones((2, 2))], [np.zeros((2, 2))])
    with pytest.raises(DatasetError, match="differ in size"):
        aupro([np.ones((2, 3))], [np.zeros((2, 2))])


# ---- image verdicts --------------------------------------------------------------------------

def test_confusion_escape_and_false_reject_rates() -> None:
    labels = [0, 0, 0, 1, 1, 1, 1]
    flagged = [False, True, False, True, True, False, True]
    counts = confusion(labels, flagged)
    assert counts.as_dict() == {"tp": 3, "fp": 1, "tn": 2, "fn": 1}
    assert counts.escape_rate == pytest.approx(1 / 4)
    assert counts.false_reject_rate == pytest.approx(1 / 3)
    only_good = confusion([0, 0], [True, False])
    assert only_good.escape_rate is None and only_good.false_reject_rate == 0.5
    assert confusion([1], [False]).false_reject_rate is None


def test_zero_escape_is_the_lowest_defect_score() -> None:
    labels, scores = [0, 0, 0, 1, 1], [0.1, 0.5, 0.7, 0.6, 0.9]
    found = zero_escape(labels, scores)
    assert found is not None and found.threshold == 0.6
    assert found.false_reject_rate == pytest.approx(1 / 3)  # 0.7 is rejected
    # images are NOK at score >= threshold: a good image on it is rejected
    tied = zero_escape([0, 1], [0.6, 0.6])
    assert tied is not None and tied.false_reject_rate == 1.0
    assert zero_escape([0, 0], [0.1, 0.2]) is None
    only_defects = zero_escape([1, 1], [0.3, 0.2])
    assert only_defects is not None and only_defects.threshold == 0.2
    assert only_defects.false_reject_rate is None


# ---- boxes against ground-truth regions ------------------------------------------------------

@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int


def test_region_overlap_counts_touched_regions_and_false_boxes() -> None:
    mask = np.zeros((20, 20), np.uint8)
    mask[2:5, 2:5] = 1  # region A
    mask[12:16, 12:18] = 1  # region B
    boxes = [
        Box(4, 4, 3, 3),  # one pixel of A inside: touches A
        Box(0, 0, 10, 10),  # all of A: A again, still one region
        Box(8, 8, 4, 4),  # ends at column/row 11, next to B: touches nothing
        Box(18, 0, 5, 5),  # nothing, and past the mask's edge
    ]
    found = region_overlap(mask, boxes)
    assert found == RegionOverlap(regions=2, touched=1, boxes=4, false_boxes=2)
    assert found.recall == 0.5
    both = found + region_overlap(mask, [Box(17, 15, 1, 1)])  # B's last pixel
    assert both == RegionOverlap(regions=4, touched=2, boxes=5, false_boxes=2)
    assert region_overlap(np.zeros((5, 5)), [Box(0, 0, 2, 2)]) == RegionOverlap(0, 0, 1, 1)
    assert RegionOverlap().recall is None
