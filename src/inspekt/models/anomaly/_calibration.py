"""Setting the raw threshold from leave-one-out good scores and, when given, defect scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def threshold_from_good(good: Sequence[float], quantile: float) -> float:
    """The ``quantile`` of the good images' leave-one-out scores.

    Without defects the only evidence is how high good images go. Leave-one-out
    scores follow what unseen good images score (measured on deeppcb_dev: median
    24.4 vs 24.2, 90th percentile 28.6 vs 27.4), so the quantile is a false-reject
    rate: 0.95 flags about one good image in twenty. The maximum (q = 1) is safer
    for good images but misses more defects.
    """
    return float(np.quantile(np.asarray(good, dtype=np.float64), quantile))


def threshold_best_f1(good: Sequence[float], defect: Sequence[float]) -> float:
    """Cut between two neighbouring scores that maximises F1 for the defect class.

    Taking the midpoint of the gap (not a score itself) leaves equal room on both sides.
    """
    scores = np.concatenate([np.asarray(good, float), np.asarray(defect, float)])
    labels = np.concatenate([np.zeros(len(good)), np.ones(len(defect))])
    order = np.argsort(scores)
    scores, labels = scores[order], labels[order]
    # Cutting just below position i flags scores[i:] as defects.
    true_pos = np.cumsum(labels[::-1])[::-1]
    flagged = np.arange(len(scores), 0, -1)
    f1 = 2 * true_pos / (flagged + len(defect))
    distinct = np.r_[True, scores[1:] > scores[:-1]]
    best = int(np.argmax(np.where(distinct, f1, -1.0)))
    if best == 0:
        return float(scores[0]) - 1e-6
    return float((scores[best - 1] + scores[best]) / 2)
