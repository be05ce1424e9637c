"""Classifier datasets (a folder per class) and metrics, fed one predicted image at a time.

The classifier module predicts each image exactly as it runs in the flow and hands
the label to a :class:`ClassificationEvaluator`; the report holds the confusion
matrix, metrics.json and the misclassified images with what they were taken for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import DatasetError
from ..imaging.io import list_images, read_image_file
from ..imaging.render import as_bgr, legend_strip

__all__ = [
    "CLASS_FOLDERS_LAYOUT",
    "ClassFolders",
    "ClassificationEvaluation",
    "ClassificationEvaluator",
    "load_class_folders",
    "macro_f1",
]

CLASS_FOLDERS_LAYOUT = "a folder per class: DIR/<class>/*.jpg|png|bmp (two or more classes)"
#: Misclassified images drawn into the report, at most.
SHOWN_MISTAKES = 12


@dataclass(frozen=True)
class ClassFolders:
    """Images labelled by the folder they are in; classes in sorted folder order."""

    root: Path
    classes: tuple[str, ...]
    paths: tuple[Path, ...]
    labels: tuple[int, ...]


def load_class_folders(root: Path) -> ClassFolders:
    """List ``root/<class>/*``; a folder that fits no classifier dataset is refused."""
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; expected {CLASS_FOLDERS_LAYOUT}")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    listed = {folder.name: list_images(folder) for folder in folders}
    classes = tuple(name for name, images in listed.items() if images)
    if len(classes) < 2:
        found = ", ".join(f"{name} ({len(images)})" for name, images in listed.items())
        raise DatasetError(
            f"{root}: not a classifier dataset (class folders with images: {found or 'none'}); "
            f"expected {CLASS_FOLDERS_LAYOUT}"
        )
    paths = [path for name in classes for path in listed[name]]
    labels = [index for index, name in enumerate(classes) for _ in listed[name]]
    return ClassFolders(root, classes, tuple(paths), tuple(labels))


def confusion_matrix(
    truth: npt.ArrayLike, predicted: npt.ArrayLike, classes: int
) -> npt.NDArray[np.int64]:
    """Counts of (true class row, predicted class column)."""
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (np.asarray(truth, np.int64), np.asarray(predicted, np.int64)), 1)
    return matrix


def macro_f1(matrix: npt.NDArray[np.int64]) -> float:
    """F1 averaged over the classes that occur in truth or prediction, each counted equally."""
    true_positive = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    present = (predicted + actual) > 0
    f1 = 2 * true_positive / np.maximum(predicted + actual, 1)
    return float(f1[present].mean()) if present.any() else 0.0


@dataclass
class ClassificationEvaluation:
    """Accuracy, macro F1 and the confusion matrix of one classifier on one dataset."""

    classes: tuple[str, ...]
    matrix: npt.NDArray[np.int64]
    ms: list[float]
    #: (path, true class, predicted class, confidence) of every misclassified image.
    mistakes: list[tuple[Path, str, str, float]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.matrix) / max(1, self.matrix.sum()))

    def as_json(self) -> dict[str, Any]:
        """The ``eval --json`` object (keys fixed by the CLI contract)."""
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(macro_f1(self.matrix), 4),
            "n_images": int(self.matrix.sum()),
            "ms_per_image_p50": round(float(np.percentile(self.ms, 50)), 4),
            "ms_per_image_p95": round(float(np.percentile(self.ms, 95)), 4),
            "classes": list(self.classes),
            "confusion_matrix": self.matrix.tolist(),
            "per_class_recall": {
                name: round(float(self.matrix[i, i] / max(1, self.matrix[i].sum())), 4)
                for i, name in enumerate(self.classes)
            },
        }

    def write_report(self, folder: Path) -> list[Path]:
        """confusion.png, metrics.json and the misclassified images, labelled."""
        folder.mkdir(parents=True, exist_ok=True)
        written = [self._confusion_png(folder / "confusion.png")]
        mistakes = folder / "mistakes"
        for rank, (path, truth, taken, confidence) in enumerate(
            self.mistakes[:SHOWN_MISTAKES], 1
        ):
            image = read_image_file(path)
            legend = [(f"truth: {truth}", None), (f"taken for: {taken} ({confidence:.0%})", None)]
            mistakes.mkdir(exist_ok=True)
            target = mistakes / f"{rank}_{truth}_as_{taken}_{path.stem}.png"
            cv2.imwrite(str(target), np.vstack([as_bgr(image), legend_strip(image, legend)]))
            written.append(target)
        metrics = folder / "metrics.json"
        metrics.write_text(json.dumps(self.as_json(), indent=2) + "\n", encoding="utf-8")
        return [*written, metrics]

    def _confusion_png(self, path: Path) -> Path:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        size = max(4.0, 0.7 * len(self.classes) + 2)
        figure = Figure(figsize=(size, size))
        axes = figure.subplots()
        axes.imshow(self.matrix, cmap="Blues")
        ticks = range(len(self.classes))
        axes.set_xticks(ticks, self.classes, rotation=45, ha="right")
        axes.set_yticks(ticks, self.classes)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        axes.set_title(f"accuracy {self.accuracy:.3f}, macro F1 {macro_f1(self.matrix):.3f}")
        peak = max(1, int(self.matrix.max()))
        for (row, col), count in np.ndenumerate(self.matrix):
            colour = "white" if count > peak / 2 else "black"
            axes.text(col, row, str(count), ha="center", va="center", color=colour)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        return path


class ClassificationEvaluator:
    """Collects predictions image by image; :meth:`result` computes the metrics."""

    def __init__(self, data: ClassFolders) -> None:
        self.data = data
        self._truth: list[int] = []
        self._predicted: list[int] = []
        self._ms: list[float] = []
        self._mistakes: list[tuple[Path, str, str, float]] = []

    def add(self, path: Path, truth: int, predicted: str, confidence: float, ms: float) -> None:
        """One image: its true class index and the label the classifier gave it."""
        classes = self.data.classes
        if predicted not in classes:
            raise DatasetError(
                f"{self.data.root}: the model answers '{predicted}', a class this dataset "
                f"does not have ({', '.join(classes)})"
            )
        self._truth.append(truth)
        self._predicted.append(classes.index(predicted))
        self._ms.append(ms)
        if classes[truth] != predicted:
            self._mistakes.append((path, classes[truth], predicted, confidence))

    def result(self) -> ClassificationEvaluation:
        matrix = confusion_matrix(self._truth, self._predicted, len(self.data.classes))
        ranked = sorted(self._mistakes, key=lambda mistake: -mistake[3])  # surest mistakes first
        return ClassificationEvaluation(self.data.classes, matrix, self._ms, ranked)
