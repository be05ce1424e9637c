"""Detector datasets (YOLO txt or COCO JSON) and COCO-style mean average precision.

YOLO: ``DIR/images/**/<stem>.*`` with ``DIR/labels/**/<stem>.txt`` at the same relative
path (``class cx cy w h`` per line, normalised to the image), class names one per line
in ``DIR/classes.txt`` or under ``names`` in ``DIR/data.yaml``. An image without a
label file has no objects. COCO: ``DIR/annotations.json`` with ``images`` (``file_name``
relative to DIR), ``annotations`` (``bbox`` as x, y, width, height in pixels) and
``categories``. A malformed label is refused with its file and line.

Average precision follows COCO: detections of a class sorted by confidence, each
matched to the unmatched ground-truth box it overlaps most when the IoU reaches the
level, precision made monotone from the right, and the area under it summed at every
recall step (all-point interpolation); averaged over the classes that have boxes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import yaml

from ..errors import DatasetError
from ..imaging.io import list_images, read_image_file
from ..imaging.render import annotated_image, hex_to_bgr, legend_strip

__all__ = [
    "DETECTION_LAYOUTS",
    "Box",
    "DetectionEvaluation",
    "DetectionEvaluator",
    "DetectionSample",
    "DetectionSet",
    "average_precision",
    "box_iou",
    "load_detection_set",
    "precision_recall",
]

DETECTION_LAYOUTS = (
    "YOLO (DIR/images/<stem>.*, DIR/labels/<stem>.txt with 'class cx cy w h' lines, and "
    "DIR/classes.txt or DIR/data.yaml with names) or COCO (DIR/annotations.json)"
)
#: IoU levels of mAP@0.5:0.95.
IOU_LEVELS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
#: Images with the most errors drawn into the report, at most.
SHOWN_IMAGES = 12
_TRUTH = "#ff00ff"
_FOUND = "#ff0000"
#: How far a normalised YOLO coordinate may stray outside 0..1 (rounding in exporters).
YOLO_SLACK = 0.01


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in image pixels, with its class index and (for detections)
    confidence."""

    label: int
    x0: float
    y0: float
    x1: float
    y1: float
    confidence: float = 1.0


@dataclass(frozen=True)
class DetectionSample:
    """One image and its ground-truth boxes (read with the dataset: labels are small)."""

    image: Path
    boxes: tuple[Box, ...]


@dataclass(frozen=True)
class DetectionSet:
    root: Path
    classes: tuple[str, ...]
    samples: tuple[DetectionSample, ...]


def load_detection_set(root: Path) -> DetectionSet:
    """Read a dataset in either layout; a folder that fits neither is refused."""
    if (root / "annotations.json").is_file():
        return _coco(root)
    if (root / "images").is_dir() and (root / "labels").is_dir():
        return _yolo(root)
    raise DatasetError(f"{root}: not a detector dataset; expected {DETECTION_LAYOUTS}")


def _yolo_classes(root: Path) -> tuple[str, ...]:
    names_file, data_file = root / "classes.txt", root / "data.yaml"
    if names_file.is_file():
        names = [line.strip() for line in names_file.read_text().splitlines() if line.strip()]
    elif data_file.is_file():
        try:
            names_field = (yaml.safe_load(data_file.read_text()) or {}).get("names")
        except yaml.YAMLError as error:
            raise DatasetError(f"{data_file}: not valid YAML ({error})") from error
        if isinstance(names_field, dict):
            names = [str(names_field[key]) for key in sorted(names_field)]
        elif isinstance(names_field, list):
            names = [str(name) for name in names_field]
        else:
            raise DatasetError(f"{data_file}: 'names' must be a list or a mapping")
    else:
        raise DatasetError(f"{root}: no classes.txt or data.yaml naming the classes")
    if not names:
        raise DatasetError(f"{root}: the class list is empty")
    return tuple(names)


def _yolo(root: Path) -> DetectionSet:
    classes = _yolo_classes(root)
    folders = [root / "images", *(p for p in (root / "images").rglob("*") if p.is_dir())]
    images = sorted(image for folder in folders for image in list_images(folder))
    samples = []
    for image in images:
        relative = image.relative_to(root / "images").with_suffix(".txt")
        label_file = root / "labels" / relative
        boxes = _yolo_boxes(label_file, len(classes), image) if label_file.is_file() else ()
        samples.append(DetectionSample(image, boxes))
    if not samples:
        raise DatasetError(f"{root / 'images'}: no images; expected {DETECTION_LAYOUTS}")
    return DetectionSet(root, classes, tuple(samples))


def _image_size(image: Path) -> tuple[int, int]:
    import cv2

    decoded = cv2.imread(str(image), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise DatasetError(f"{image}: cannot be decoded as an image")
    return int(decoded.shape[1]), int(decoded.shape[0])


def _yolo_boxes(label_file: Path, classes: int, image: Path) -> tuple[Box, ...]:
    lines = label_file.read_text().splitlines()
    if not any(line.strip() for line in lines):
        return ()
    width, height = _image_size(image)
    boxes = []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{label_file}, line {number}"
        if len(fields) != 5:
            raise DatasetError(f"{where}: expected 'class cx cy w h', got {len(fields)} fields")
        try:
            label = int(fields[0])
            cx, cy, w, h = (float(value) for value in fields[1:])
        except ValueError:
            raise DatasetError(f"{where}: '{line.strip()}' is not 'class cx cy w h'") from None
        if not 0 <= label < classes:
            raise DatasetError(f"{where}: class {label} is not 0 to {classes - 1}")
        low, high = -YOLO_SLACK, 1 + YOLO_SLACK
        if not (low <= cx <= high and low <= cy <= high and 0 < w <= high and 0 < h <= high):
            raise DatasetError(f"{where}: coordinates must be normalised to 0..1, got {line}")
        boxes.append(Box(
            label, (cx - w / 2) * width, (cy - h / 2) * height,
            (cx + w / 2) * width, (cy + h / 2) * height,
        ))
    return tuple(boxes)


def _coco(root: Path) -> DetectionSet:
    path = root / "annotations.json"
    try:
        document = json.loads(path.read_text())
        categories = sorted(document["categories"], key=lambda c: int(c["id"]))
        index = {int(c["id"]): i for i, c in enumerate(categories)}
        files = {int(image["id"]): str(image["file_name"]) for image in document["images"]}
        boxes: dict[int, list[Box]] = {image_id: [] for image_id in files}
        for number, annotation in enumerate(document["annotations"]):
            x, y, w, h = (float(v) for v in annotation["bbox"])
            category, image_id = int(annotation["category_id"]), int(annotation["image_id"])
            if category not in index or image_id not in boxes or w <= 0 or h <= 0:
                raise DatasetError(
                    f"{path}: annotations[{number}] names an unknown image or category, "
                    f"or has an empty bbox"
                )
            boxes[image_id].append(Box(index[category], x, y, x + w, y + h))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DatasetError(f"{path}: not a COCO annotation file ({error!r})") from error
    samples = []
    for image_id, name in sorted(files.items()):
        image = root / name
        if not image.is_file():
            raise DatasetError(f"{path}: image '{name}' not found in {root}")
        samples.append(DetectionSample(image, tuple(boxes[image_id])))
    classes = tuple(str(c["name"]) for c in categories)
    if not classes or not samples:
        raise DatasetError(f"{path}: no categories or no images")
    return DetectionSet(root, classes, tuple(samples))


def box_iou(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """IoU of every box in ``a`` (N, 4: x0 y0 x1 y1) with every box in ``b`` (M, 4)."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    overlap = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - overlap
    return np.where(union > 0, overlap / np.maximum(union, 1e-12), 0.0)


def _coordinates(boxes: Sequence[Box]) -> npt.NDArray[np.float64]:
    return np.array([[b.x0, b.y0, b.x1, b.y1] for b in boxes], np.float64).reshape(-1, 4)


def _match(
    found: Sequence[Box], truth: Sequence[Box], level: float
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Which of ``found`` (strongest first) hit a box of ``truth`` at IoU ``level``, and
    which truth boxes were hit; each truth box is taken by one detection at most."""
    hits = np.zeros(len(found), bool)
    taken = np.zeros(len(truth), bool)
    if not len(found) or not len(truth):
        return hits, taken
    overlaps = box_iou(_coordinates(found), _coordinates(truth))
    for row in range(len(found)):
        candidates = np.where(taken, -1.0, overlaps[row])
        best = int(np.argmax(candidates))
        if candidates[best] >= level:
            taken[best] = hits[row] = True
    return hits, taken


def precision_recall(
    detections: Sequence[Sequence[Box]], truths: Sequence[Sequence[Box]], label: int, level: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """Recall and precision of one class after each of its detections over all images,
    strongest first; None when the class has no boxes."""
    total = sum(1 for boxes in truths for box in boxes if box.label == label)
    if total == 0:
        return None
    scored: list[tuple[float, bool]] = []
    for found, truth in zip(detections, truths, strict=True):
        mine = sorted((b for b in found if b.label == label), key=lambda b: -b.confidence)
        hits, _ = _match(mine, [b for b in truth if b.label == label], level)
        scored += [(b.confidence, bool(hit)) for b, hit in zip(mine, hits, strict=True)]
    scored.sort(key=lambda item: -item[0])
    true_positives = np.cumsum(np.array([hit for _, hit in scored], float))
    precision = true_positives / np.arange(1, len(scored) + 1)
    return true_positives / total, precision


def average_precision(
    detections: Sequence[Sequence[Box]], truths: Sequence[Sequence[Box]], label: int, level: float
) -> float | None:
    """AP of one class at one IoU level over images; None when the class has no boxes."""
    curve = precision_recall(detections, truths, label, level)
    if curve is None:
        return None
    recall, precision = curve
    # the precision envelope: at each recall, the best precision at that recall or beyond
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * envelope))


@dataclass
class DetectionEvaluation:
    """Every image's detections and ground truth, and the time per image.

    ``shown_confidence`` is the module's ``min_confidence``: mAP ranks every detection,
    the report's images show the boxes the flow would report.
    """

    classes: tuple[str, ...]
    shown_confidence: float
    images: list[Path] = field(default_factory=list)
    detections: list[list[Box]] = field(default_factory=list)
    truths: list[list[Box]] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)

    def mean_ap(self, levels: Sequence[float]) -> float:
        """AP averaged over the classes with boxes and the IoU levels."""
        values = [
            ap for label in range(len(self.classes)) for level in levels
            if (ap := average_precision(self.detections, self.truths, label, level)) is not None
        ]
        return float(np.mean(values)) if values else 0.0

    def as_json(self) -> dict[str, Any]:
        """The ``eval --json`` object (keys fixed by the CLI contract)."""
        per_class = {
            name: round(ap, 4)
            for label, name in enumerate(self.classes)
            if (ap := average_precision(self.detections, self.truths, label, 0.5)) is not None
        }
        return {
            "map50": round(self.mean_ap([0.5]), 4),
            "map50_95": round(self.mean_ap(IOU_LEVELS), 4),
            "n_images": len(self.ms),
            "ms_per_image_p50": round(float(np.percentile(self.ms, 50)), 4),
            "ms_per_image_p95": round(float(np.percentile(self.ms, 95)), 4),
            "ap50_per_class": per_class,
        }

    def write_report(self, folder: Path) -> list[Path]:
        """pr_curve.png, metrics.json and the images with the most errors, boxes drawn."""
        folder.mkdir(parents=True, exist_ok=True)
        written = [self._pr_curve(folder / "pr_curve.png"), *self._worst(folder / "worst")]
        metrics = folder / "metrics.json"
        metrics.write_text(json.dumps(self.as_json(), indent=2) + "\n", encoding="utf-8")
        return [*written, metrics]

    def _pr_curve(self, path: Path) -> Path:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6, 5))
        axes = figure.subplots()
        for label, name in enumerate(self.classes):
            curve = precision_recall(self.detections, self.truths, label, 0.5)
            if curve is None:
                continue
            recall, precision = curve
            ap = average_precision(self.detections, self.truths, label, 0.5)
            envelope = np.maximum.accumulate(precision[::-1])[::-1]
            axes.step(np.concatenate([[0.0], recall]), np.concatenate([envelope[:1], envelope]),
                      where="pre", label=f"{name} (AP {ap:.3f})")
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1.02)
        axes.set_xlabel("recall")
        axes.set_ylabel("precision")
        axes.set_title(f"IoU 0.5: mAP {self.mean_ap([0.5]):.3f}")
        axes.legend(loc="lower left", fontsize="small")
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        return path

    def errors(self, index: int) -> tuple[int, int]:
        """Boxes missed and boxes found wrongly on one image, at IoU 0.5 and the shown
        confidence (a box of the wrong class is both)."""
        found = sorted((b for b in self.detections[index]
                        if b.confidence >= self.shown_confidence), key=lambda b: -b.confidence)
        truth = self.truths[index]
        missed = wrong = 0
        for label in {b.label for b in (*found, *truth)}:
            mine = [b for b in found if b.label == label]
            hits, taken = _match(mine, [b for b in truth if b.label == label], 0.5)
            missed += int((~taken).sum())
            wrong += int((~hits).sum())
        return missed, wrong

    def _worst(self, folder: Path) -> list[Path]:
        """The images with the most errors: truth in magenta, found boxes in red."""
        counted = [(self.errors(i), i) for i in range(len(self.images))]
        worst = sorted((c for c in counted if sum(c[0])), key=lambda c: -sum(c[0]))
        written = []
        for rank, ((missed, wrong), index) in enumerate(worst[:SHOWN_IMAGES], 1):
            image = read_image_file(self.images[index])
            truth = [_drawn(b, "", _TRUTH) for b in self.truths[index]]
            found = [
                _drawn(b, self.classes[b.label], _FOUND)
                for b in self.detections[index] if b.confidence >= self.shown_confidence
            ]
            drawn = annotated_image(image, None, [*truth, *found])
            legend = legend_strip(drawn, [
                ("truth", hex_to_bgr(_TRUTH)), ("found", hex_to_bgr(_FOUND)),
                (f"{missed} missed, {wrong} wrong", None),
            ])
            folder.mkdir(exist_ok=True)
            target = folder / f"{rank}_{self.images[index].stem}.png"
            cv2.imwrite(str(target), np.vstack([drawn, legend]))
            written.append(target)
        return written


def _drawn(box: Box, label: str, color: str) -> dict[str, Any]:
    """A box as the rectangle the annotated image draws (class and confidence as its tag)."""
    return {
        "x": round(box.x0), "y": round(box.y0),
        "width": round(box.x1 - box.x0), "height": round(box.y1 - box.y0),
        "classNames": [{"label": label, "color": color}],
        "confidence": box.confidence if label else None,
    }


class DetectionEvaluator:
    """Collects each image's detections against its ground truth."""

    def __init__(self, data: DetectionSet, shown_confidence: float) -> None:
        self.result = DetectionEvaluation(data.classes, shown_confidence)

    def add(self, sample: DetectionSample, detections: Sequence[Box], ms: float) -> None:
        self.result.images.append(sample.image)
        self.result.detections.append(list(detections))
        self.result.truths.append(list(sample.boxes))
        self.result.ms.append(ms)
