"""The ``eval --report`` folder: ROC curve, score histogram and the worst misses.

The histogram shows good and defect scores with two lines: the module's threshold,
and the zero-escape threshold (the lowest defect score), so the gap or overlap
between the classes, and what a line that lets no defect pass would cost, are seen
at a glance.

Each worst-miss image shows what the model saw and what it should have seen:
its heat above the threshold (tinted and outlined in red), a red box around
each region it found, the ground-truth outline in magenta where the dataset has
a mask, a strip with the verdict and score, and a legend for the colours.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import cv2
import numpy as np

from ..imaging.io import read_image_file
from ..imaging.regions import find_regions
from ..imaging.render import HEAT_COLOR, Color, annotated_image, draw_outline, legend_strip
from ..results import region_rectangles
from ..types import HeatMap, Image
from .dataset import ScoredSample, read_mask
from .metrics import ZeroEscape

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["AnomalyRun", "write_report"]


class AnomalyRun(Protocol):
    """What a report shows of an anomaly evaluation (the evaluation itself writes reports)."""

    @property
    def samples(self) -> Sequence[ScoredSample]: ...
    @property
    def threshold(self) -> float: ...
    @property
    def image_auroc(self) -> float | None: ...
    @property
    def maps(self) -> Mapping[Path, HeatMap]: ...
    @property
    def zero_escape(self) -> ZeroEscape | None: ...
    def as_json(self) -> dict[str, Any]: ...


WORST = 5
_FOUND = "#ff0000"  # the heat's red: each box frames a region of it
_TRUTH: Color = (255, 0, 255)


def write_report(evaluation: AnomalyRun, folder: Path) -> list[Path]:
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


def _roc_points(samples: Sequence[ScoredSample]) -> tuple[np.ndarray, np.ndarray]:
    labels = np.array([s.sample.label for s in samples])
    scores = np.array([s.score for s in samples])
    order = np.argsort(-scores, kind="stable")
    positives = max(int(labels.sum()), 1)
    negatives = max(int((1 - labels).sum()), 1)
    tpr = np.concatenate([[0.0], np.cumsum(labels[order]) / positives])
    fpr = np.concatenate([[0.0], np.cumsum(1 - labels[order]) / negatives])
    return fpr, tpr


def _roc_curve(evaluation: AnomalyRun, path: Path) -> Path:
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


def _histogram(evaluation: AnomalyRun, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure = _histogram_figure(evaluation)
    figure.savefig(path)
    plt.close(figure)
    return path


def _histogram_figure(evaluation: AnomalyRun) -> Figure:
    """Good and defect score histograms, the threshold and the zero-escape line."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    samples = evaluation.samples
    scores = np.array([s.score for s in samples])
    top = max(float(scores.max()) if scores.size else 0.0, evaluation.threshold, 1e-6)
    bins = np.linspace(0, top * 1.05, 40)
    for label, name, color in ((0, "good", "tab:green"), (1, "defect", "tab:red")):
        values = [s.score for s in samples if s.sample.label == label]
        if values:
            axes.hist(
                values,
                bins=bins,  # type: ignore[arg-type]  # takes any array; the stubs say Sequence
                alpha=0.55,
                color=color,
                label=f"{name} images ({len(values)})",
            )
    lines = [(evaluation.threshold, "threshold", "black", "--", _at_threshold(evaluation))]
    zero = evaluation.zero_escape
    if zero is not None:
        cost = "" if zero.false_reject_rate is None else f": {zero.false_reject_rate:.0%} of good"
        lines.append((zero.threshold, "zero escape", "tab:purple", ":", f"no defect passes{cost}"))
    for x, name, color, style, what in lines:
        text = f"{name} {x:.3f} ({what})"
        axes.axvline(x, color=color, linestyle=style, linewidth=1.5, label=text)
        axes.annotate(
            name, (x, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
            textcoords="offset points", rotation=90, va="top", fontsize="small", color=color,
        )
    axes.set(xlabel="score (image NOK at score >= threshold)", ylabel="images", title="Scores")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of images
    axes.legend(fontsize="small")
    figure.tight_layout()
    return figure


def _at_threshold(evaluation: AnomalyRun) -> str:
    """The module's verdicts in words: escapes and false rejects."""
    defects = [s for s in evaluation.samples if s.sample.label == 1]
    goods = [s for s in evaluation.samples if s.sample.label == 0]
    escapes = sum(not s.nok for s in defects)
    rejects = sum(s.nok for s in goods)
    return f"{escapes}/{len(defects)} defects pass, {rejects}/{len(goods)} good rejected"


def _worst_misses(evaluation: AnomalyRun, folder: Path) -> list[Path]:
    """Defects scored lowest and good images scored highest, drawn by ``_miss_image``."""
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
            sample = scored.sample
            name = f"{kind}_{rank}_{sample.defect_type}_{sample.path.stem}_{scored.score:.3f}.png"
            cv2.imwrite(str(folder / name), _miss_image(scored, heat, evaluation.threshold))
            written.append(folder / name)
    return written


def _miss_image(scored: ScoredSample, heat: HeatMap, threshold: float) -> Image:
    """The sample with its heat (on the model's scale), the boxes found and its ground truth."""
    image = read_image_file(scored.sample.path)
    height, width = image.shape[:2]
    if heat.shape != (height, width):
        resized = cv2.resize(heat, (width, height), interpolation=cv2.INTER_LINEAR)
        heat = cast(HeatMap, resized)  # cv2's stubs do not keep the dtype
    regions = find_regions(heat, threshold)
    found = [
        rectangle.as_context(number)
        for number, rectangle in enumerate(
            region_rectangles(regions, threshold, "found", _FOUND, 0, "UNSUPERVISED"), 1
        )
    ]
    # The heat on the scale annotated_image expects: the threshold at 0.5.
    normalised = np.clip(heat / (2 * threshold), 0.0, 1.0)
    picture = annotated_image(
        image, normalised, found, banner=True, result=not scored.nok, score=scored.score
    )
    legend: list[tuple[str, Color | None]] = [
        (f"truth: {scored.sample.defect_type}", None),
        (f"heat >= threshold ({threshold:.3f}), boxes found", HEAT_COLOR),
    ]
    mask_path = scored.sample.mask_path
    if mask_path is not None:
        mask = read_mask(mask_path)
        if mask.shape != (height, width):
            mask = cast(Image, cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST))
        # drawn on the picture's top rows only: below them is the verdict strip
        draw_outline(picture[:height], mask, _TRUTH, 2)
        legend.append(("ground truth", _TRUTH))
    return np.vstack([picture, legend_strip(image, legend)])
