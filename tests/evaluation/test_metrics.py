"""Metrics checked against their definitions on small, hand-countable inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from inspekt.errors import DatasetError
from inspekt.evaluation import auroc, best_f1, f1_at_threshold, pixel_auroc


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
