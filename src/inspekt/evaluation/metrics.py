"""Threshold-free (AUROC) and thresholded (F1) metrics, exact and dependency-free."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..errors import DatasetError

ArrayLike = Sequence[float] | npt.NDArray[np.generic]


def _binary(labels: ArrayLike) -> npt.NDArray[np.bool_]:
    array = np.asarray(labels).ravel()
    if not np.isin(array, (0, 1)).all():
        raise DatasetError("labels must be 0 (good) or 1 (defect)")
    return array.astype(bool)


def auroc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve: P(defect score > good score), ties counting one half.

    Computed from average ranks (Mann-Whitney U), which is exact with ties.
    """
    positive = _binary(labels)
    values = np.asarray(scores, dtype=np.float64).ravel()
    if positive.shape != values.shape:
        raise DatasetError("labels and scores differ in length")
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise DatasetError("AUROC needs both good and defect samples")
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # Average rank of each run of equal values.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_values)) + 1]
    ends = np.r_[starts[1:], values.size]
    average = (starts + ends + 1) / 2.0
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat(average, ends - starts)
    rank_sum = ranks[positive].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def pixel_auroc(
    masks: Sequence[npt.NDArray[np.generic]], maps: Sequence[npt.NDArray[np.floating]]
) -> float:
    """AUROC over every pixel of every image (masks nonzero = defect), as in MVTec AD."""
    if len(masks) != len(maps):
        raise DatasetError("one mask per map is needed")
    for mask, heat in zip(masks, maps, strict=True):
        if mask.shape != heat.shape:
            raise DatasetError(f"mask {mask.shape} and map {heat.shape} differ in size")
    labels = np.concatenate([(np.asarray(m) > 0).ravel() for m in masks]).astype(np.uint8)
    values = np.concatenate([np.asarray(h, dtype=np.float32).ravel() for h in maps])
    return auroc(labels, values)


def f1_at_threshold(labels: ArrayLike, scores: ArrayLike, threshold: float) -> float:
    """F1 of the defect class when ``score >= threshold`` is called a defect."""
    positive = _binary(labels)
    predicted = np.asarray(scores, dtype=np.float64).ravel() >= threshold
    true_pos = int((positive & predicted).sum())
    denominator = int(positive.sum()) + int(predicted.sum())
    return 2.0 * true_pos / denominator if denominator else 1.0


def best_f1(labels: ArrayLike, scores: ArrayLike) -> tuple[float, float]:
    """Highest F1 over all thresholds, and the lowest threshold reaching it."""
    candidates = np.unique(np.asarray(scores, dtype=np.float64))
    best = (-1.0, float(candidates[0]))
    for threshold in candidates:
        f1 = f1_at_threshold(labels, scores, float(threshold))
        if f1 > best[0]:
            best = (f1, float(threshold))
    return best
