"""The ``eval --report`` folder: ROC curve, score histogram and the worst misses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..imaging.io import read_image_file
from ..imaging.render import annotated_image

if TYPE_CHECKING:
    from .anomaly import AnomalyEvaluation, ScoredSample

__all__ = ["write_report"]

WORST = 5


def write_report(evaluation: AnomalyEvaluation, folder: Path) -> list[Path]:
    """Write the plots, the worst misses and metrics.json; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        _roc_curve(evaluation, folder / "roc.png"),
        _histogram(evaluation, folder / "scores.png"),
    ]
    written += _worst_misses(evaluation, folder / "worst")
    metrics = folder / "metrics.json"
    metrics.write_text(json.dumps(evaluation.as_json(), indent=2) + "\n", encoding="utf-8")
    return [*written, metrics]


def _roc_points(samples: list[ScoredSample]) -> tuple[np.ndarray, np.ndarray]:
    labels = np.array([s.sample.label for s in samples])
    scores = np.array([s.score for s in samples])
    order = np.argsort(-scores, kind="stable")
    positives = max(int(labels.sum()), 1)
    negatives = max(int((1 - labels).sum()), 1)
    tpr = np.concatenate([[0.0], np.cumsum(labels[order]) / positives])
    fpr = np.concatenate([[0.0], np.cumsum(1 - labels[order]) / negatives])
    return fpr, tpr


def _roc_curve(evaluation: AnomalyEvaluation, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fpr, tpr = _roc_points(evaluation.samples)
    figure, axes = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    auc = evaluation.image_auroc
    axes.plot(fpr, tpr, label=f"image AUROC {auc:.3f}" if auc is not None else "ROC")
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _histogram(evaluation: AnomalyEvaluation, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5), dpi=100)
    scores = np.array([s.score for s in evaluation.samples])
    bins = np.linspace(0, max(float(scores.max()), evaluation.threshold) * 1.05, 40)
    for label, name in ((0, "good"), (1, "defect")):
        values = [s.score for s in evaluation.samples if s.sample.label == label]
        if values:
            axes.hist(
                values,
                bins=bins,  # type: ignore[arg-type]  # takes any array; the stubs say Sequence
                alpha=0.6,
                label=f"{name} ({len(values)})",
            )
    axes.axvline(evaluation.threshold, color="black", linestyle="--", label="threshold")
    axes.set(xlabel="score", ylabel="images", title="Scores")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _worst_misses(evaluation: AnomalyEvaluation, folder: Path) -> list[Path]:
    """Defects scored lowest and good images scored highest, with their heat."""
    defects = sorted((s for s in evaluation.samples if s.sample.label == 1), key=lambda s: s.score)
    goods = sorted((s for s in evaluation.samples if s.sample.label == 0), key=lambda s: -s.score)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, group in (
        ("defect_scored_low", defects[:WORST]),
        ("good_scored_high", goods[:WORST]),
    ):
        for rank, scored in enumerate(group, 1):
            heat = evaluation.maps.get(scored.sample.path)
            if heat is None:
                continue
            image = read_image_file(scored.sample.path)
            overlay = annotated_image(image, np.clip(heat / (2 * evaluation.threshold), 0, 1), [])
            sample = scored.sample
            name = f"{kind}_{rank}_{sample.defect_type}_{sample.path.stem}_{scored.score:.3f}.png"
            cv2.imwrite(str(folder / name), overlay)
            written.append(folder / name)
    return written
