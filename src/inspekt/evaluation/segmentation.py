"""Surface (segmentation) datasets and metrics, fed one predicted mask at a time.

Two layouts are read:

- MVTec AD: ``train/good/``, ``test/good/`` (all background), ``test/<defect>/`` with
  ``ground_truth/<defect>/<stem>_mask.png`` (nonzero = that defect class); defect
  images without a mask are left out (nothing says where their defect is);
- ``images/<stem>.*`` with ``masks/<stem>.png`` whose pixel value is the class index
  (0 = background), the classes named one per line in an optional ``classes.txt``.
  Without it every nonzero pixel is one class, ``defect``; with one class, 255 also
  means it (masks saved as black and white).

IoU and Dice are counted over the whole dataset per class (intersection and union
summed over images, so a class seen in few images is not drowned by images without
it), then averaged over the classes, background excluded.
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
from ..imaging.io import list_images
from ..imaging.render import Color, as_bgr, draw_outline, legend_strip
from ..types import Image

__all__ = [
    "SEGMENTATION_LAYOUTS",
    "SegmentationEvaluation",
    "SegmentationEvaluator",
    "SegmentationSample",
    "SegmentationSet",
    "load_segmentation_set",
]

SEGMENTATION_LAYOUTS = (
    "MVTec AD (train/good/, test/<defect>/, ground_truth/<defect>/<stem>_mask.png) or "
    "images/<stem>.* with masks/<stem>.png (pixel value = class index, 0 = background; "
    "class names in an optional classes.txt)"
)
#: Images with the most wrong pixels drawn into the report, at most.
SHOWN_IMAGES = 8
_TRUTH: Color = (255, 0, 255)
_MARKED: Color = (0, 0, 255)
#: The class of masks that carry no names (no classes.txt).
DEFAULT_CLASS = "defect"

Mask = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class SegmentationSample:
    """One image and where its class-index mask comes from (none: all background)."""

    image: Path
    mask: Path | None
    #: For MVTec masks (nonzero = one class): that class's index; None for index masks.
    mvtec_class: int | None = None

    def read_mask(self, shape: tuple[int, int], classes: int) -> Mask:
        """The class-index mask at ``shape`` (the image's height and width)."""
        if self.mask is None:
            return np.zeros(shape, np.uint8)
        raw = cv2.imread(str(self.mask), cv2.IMREAD_GRAYSCALE)
        if raw is None:
            raise DatasetError(f"{self.mask}: cannot be decoded as a mask")
        if self.mvtec_class is not None:
            mask = np.where(raw > 0, self.mvtec_class, 0).astype(np.uint8)
        else:
            mask = raw.copy()
            if classes == 1:
                mask[mask == 255] = 1
            if int(mask.max()) > classes:
                raise DatasetError(
                    f"{self.mask}: pixel value {int(mask.max())} is not a class index "
                    f"(0 to {classes}); name the classes in classes.txt"
                )
        if mask.shape != shape:
            mask = np.asarray(
                cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST), np.uint8
            )
        return mask


@dataclass(frozen=True)
class SegmentationSet:
    """Images with masks; ``classes`` are the foreground classes (index 1, 2, ...)."""

    root: Path
    classes: tuple[str, ...]
    samples: tuple[SegmentationSample, ...]


def load_segmentation_set(root: Path) -> SegmentationSet:
    """List a dataset in either layout; a folder that fits neither is refused."""
    if (root / "images").is_dir():
        return _index_masks(root)
    if (root / "ground_truth").is_dir():
        return _mvtec(root)
    raise DatasetError(f"{root}: not a surface dataset; expected {SEGMENTATION_LAYOUTS}")


def _index_masks(root: Path) -> SegmentationSet:
    names_file = root / "classes.txt"
    if names_file.is_file():
        classes = tuple(line.strip() for line in names_file.read_text().splitlines())
        classes = tuple(name for name in classes if name)
    else:
        classes = (DEFAULT_CLASS,)
    if not classes:
        raise DatasetError(f"{names_file}: no class names")
    samples = []
    for image in list_images(root / "images"):
        mask = root / "masks" / f"{image.stem}.png"
        if not mask.is_file():
            raise DatasetError(f"{image}: no mask {mask} (an all-black mask marks no defect)")
        samples.append(SegmentationSample(image, mask))
    if not samples:
        raise DatasetError(f"{root / 'images'}: no images; expected {SEGMENTATION_LAYOUTS}")
    return SegmentationSet(root, classes, tuple(samples))


def _mvtec(root: Path) -> SegmentationSet:
    truth = root / "ground_truth"
    classes = tuple(
        sorted(d.name for d in truth.iterdir() if d.is_dir() and any(d.glob("*_mask.png")))
    )
    samples = []
    for folder in (root / "train" / "good", root / "test" / "good"):
        if folder.is_dir():
            samples += [SegmentationSample(image, None) for image in list_images(folder)]
    for index, name in enumerate(classes, 1):
        for image in list_images(root / "test" / name):
            mask = truth / name / f"{image.stem}_mask.png"
            if mask.is_file():
                samples.append(SegmentationSample(image, mask, index))
    if not classes or not samples:
        raise DatasetError(f"{root}: no defect masks; expected {SEGMENTATION_LAYOUTS}")
    return SegmentationSet(root, classes, tuple(samples))


@dataclass(frozen=True)
class WrongPixels:
    """One image the report draws: as the model saw it, what it marked and the truth."""

    wrong: int
    name: str
    image: Image
    predicted: Mask
    truth: Mask


@dataclass
class SegmentationEvaluation:
    """Per-class pixel counts over a dataset, the time per image and the images with the
    most wrong pixels."""

    classes: tuple[str, ...]
    intersection: npt.NDArray[np.int64]
    predicted: npt.NDArray[np.int64]
    truth: npt.NDArray[np.int64]
    ms: list[float] = field(default_factory=list)
    worst: list[WrongPixels] = field(default_factory=list)

    def per_class(self) -> dict[str, dict[str, float | None]]:
        """IoU and Dice of each class; None for a class neither predicted nor present."""
        result: dict[str, dict[str, float | None]] = {}
        for i, name in enumerate(self.classes):
            union = self.predicted[i] + self.truth[i] - self.intersection[i]
            both = self.predicted[i] + self.truth[i]
            result[name] = {
                "iou": round(float(self.intersection[i] / union), 4) if union else None,
                "dice": round(float(2 * self.intersection[i] / both), 4) if both else None,
            }
        return result

    def _mean(self, key: str) -> float | None:
        values = [value for v in self.per_class().values() if (value := v[key]) is not None]
        return round(float(np.mean(values)), 4) if values else None

    def as_json(self) -> dict[str, Any]:
        """The ``eval --json`` object (keys fixed by the CLI contract)."""
        return {
            "iou": self._mean("iou"),
            "dice": self._mean("dice"),
            "n_images": len(self.ms),
            "ms_per_image_p50": round(float(np.percentile(self.ms, 50)), 4),
            "ms_per_image_p95": round(float(np.percentile(self.ms, 95)), 4),
            "per_class": self.per_class(),
        }

    def write_report(self, folder: Path) -> list[Path]:
        """metrics.json (IoU and Dice per class) and the images with the most wrong
        pixels: the truth outlined in magenta, what the model marked in red."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for rank, shown in enumerate(sorted(self.worst, key=lambda w: -w.wrong), 1):
            drawn = as_bgr(shown.image).copy()
            line = max(1, round(min(drawn.shape[:2]) / 250))
            draw_outline(drawn, shown.truth > 0, _TRUTH, line)
            draw_outline(drawn, shown.predicted > 0, _MARKED, line)
            marked = [self.classes[i - 1] for i in np.unique(shown.predicted) if i]
            legend = legend_strip(drawn, [
                ("truth", _TRUTH), ("marked", _MARKED),
                (f"{shown.wrong} px wrong; marked: {', '.join(marked) or 'nothing'}", None),
            ])
            (folder / "worst").mkdir(exist_ok=True)
            target = folder / "worst" / f"{rank}_{shown.name}.png"
            cv2.imwrite(str(target), np.vstack([drawn, legend]))
            written.append(target)
        metrics = folder / "metrics.json"
        metrics.write_text(json.dumps(self.as_json(), indent=2) + "\n", encoding="utf-8")
        return [*written, metrics]


class SegmentationEvaluator:
    """Collects predicted class-index masks image by image, keeping the worst few whole."""

    def __init__(self, data: SegmentationSet) -> None:
        count = len(data.classes)
        self.data = data
        self.result = SegmentationEvaluation(
            data.classes, np.zeros(count, np.int64), np.zeros(count, np.int64),
            np.zeros(count, np.int64),
        )

    def add(self, name: str, image: Image, predicted: Mask, truth: Mask, ms: float) -> None:
        """One image (as the model saw it): predicted and true class-index masks of its size."""
        for i in range(len(self.data.classes)):
            found, present = predicted == i + 1, truth == i + 1
            self.result.intersection[i] += int(np.count_nonzero(found & present))
            self.result.predicted[i] += int(np.count_nonzero(found))
            self.result.truth[i] += int(np.count_nonzero(present))
        self.result.ms.append(ms)
        wrong = int(np.count_nonzero(predicted != truth))
        worst = self.result.worst
        if wrong and (len(worst) < SHOWN_IMAGES or wrong > min(w.wrong for w in worst)):
            worst.append(WrongPixels(wrong, name, image, predicted, truth))
            if len(worst) > SHOWN_IMAGES:
                worst.remove(min(worst, key=lambda w: w.wrong))
