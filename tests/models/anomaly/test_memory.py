"""Coreset selection and threshold calibration, on numbers small enough to reason about."""

from __future__ import annotations

import numpy as np
import pytest

from inspekt.models.anomaly._calibration import threshold_best_f1, threshold_from_good
from inspekt.models.anomaly._memory import PatchIndex, fit_projection, greedy_coreset, project


def test_greedy_coreset_takes_one_point_per_cluster() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=100.0, size=(5, 32)).astype(np.float32)
    points = np.repeat(centres, 200, axis=0) + rng.normal(size=(1000, 32)).astype(np.float32)
    chosen = greedy_coreset(points, 5, rng=rng)
    assert sorted(set(chosen // 200)) == [0, 1, 2, 3, 4]


def test_greedy_coreset_keeps_everything_when_asked_for_more() -> None:
    points = np.zeros((10, 4), dtype=np.float32)
    chosen = greedy_coreset(points, 20, rng=np.random.default_rng(0))
    assert chosen.tolist() == list(range(10))


def test_projection_keeps_distances_within_the_principal_subspace() -> None:
    rng = np.random.default_rng(0)
    # 3-d data that really lives on a 2-d plane: two components keep every distance.
    plane = rng.normal(size=(500, 2)).astype(np.float32) @ np.array(
        [[1.0, 2.0, 0.5], [0.0, 1.0, -1.0]], dtype=np.float32
    )
    points = (plane + 7.0).reshape(50, 10, 3)
    projection = fit_projection([points], 2, rng)
    assert projection.shape == (4, 2)
    projected = project(points, projection)
    assert projected.shape == (50, 10, 2)
    np.testing.assert_allclose(projected.reshape(-1, 2).mean(axis=0), 0.0, atol=1e-4)
    original = np.linalg.norm(points[0, 0] - points[3, 4])
    assert np.linalg.norm(projected[0, 0] - projected[3, 4]) == pytest.approx(original, rel=1e-4)


def test_patch_index_returns_euclidean_nearest_distance() -> None:
    bank = np.array([[0.0, 0.0], [10.0, 0.0]], dtype=np.float32)
    queries = np.array([[3.0, 4.0], [10.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(PatchIndex(bank).distances(queries), [5.0, 1.0], rtol=1e-6)


def test_threshold_from_good_is_a_quantile_of_good_scores() -> None:
    scores = [float(i) for i in range(101)]
    assert threshold_from_good(scores, 0.95) == 95.0
    assert threshold_from_good(scores, 1.0) == 100.0
    assert threshold_from_good([3.0], 0.95) == 3.0


def test_threshold_best_f1_cuts_the_gap_between_classes() -> None:
    assert threshold_best_f1([1.0, 2.0], [4.0, 5.0]) == 3.0
    # One good outlier above a defect: best F1 keeps both defects, flags the outlier too.
    cut = threshold_best_f1([1.0, 2.0, 4.5], [4.0, 5.0])
    assert 2.0 < cut < 4.0
