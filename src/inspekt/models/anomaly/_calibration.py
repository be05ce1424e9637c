"""Setting the raw threshold from held-back good images and, when given, defect images."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def threshold_from_good(good: Sequence[float], offset: float, margin: float) -> float:
    """Worst held-back good score plus ``margin`` times its distance above the good level.

    Without defects the only evidence is how high good images go; the margin keeps
    unseen good images, which may score slightly higher, on the good side.
    """
    worst = float(np.max(good))
    return worst + margin * max(worst - offset, 0.0)


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
