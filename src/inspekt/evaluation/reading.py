"""Datasets and metrics of modules that read what is printed on the part (codes, text).

The layout is one CSV file, ``DIR/labels.csv``, with the header ``file,text`` and an
optional ``format`` column (a code's symbology, for readers that tell them apart):
``file`` is relative to DIR, and an image with several codes has several rows. A row
with an empty ``text`` lists an image on which nothing should be read, so a reader
that reads codes where there are none is measured too.

A read counts when its text is exactly a label's (and its format, where the row
names one); each label and each read is matched at most once. ``read_rate`` is
labels read / labels, ``false_read_rate`` reads that match no label / reads.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import DatasetError, FlowError
from ..imaging.io import read_image_file
from ..imaging.render import Color, as_bgr, legend_strip
from ..types import Image, Progress

__all__ = [
    "LABELS_FILE",
    "READING_LAYOUT",
    "Label",
    "Reading",
    "ReadingEvaluation",
    "ReadingEvaluator",
    "ReadingSample",
    "ReadingSet",
    "load_reading_set",
]

LABELS_FILE = "labels.csv"
READING_LAYOUT = (
    "DIR/labels.csv with a header file,text (optional column format), file relative to "
    "DIR, one row per code"
)
#: Images with misreads drawn into the report, at most.
SHOWN_IMAGES = 12
_RIGHT: Color = (0, 200, 0)
_WRONG: Color = (0, 0, 255)

#: A corner in image pixels.
Point = tuple[int, int]


@dataclass(frozen=True)
class Label:
    """What one code (or line of text) on an image says; ``format`` None: any format."""

    text: str
    format: str | None = None

    def fits(self, reading: Reading) -> bool:
        return reading.text == self.text and self.format in (None, reading.format)


@dataclass(frozen=True)
class Reading:
    """One thing a reader read: its text, its format, and where it is on the image.

    ``corners`` are the read area's top-left, top-right, bottom-right and bottom-left
    as the reader saw the symbol (turned with it), and ``angle`` is that orientation
    in degrees, clockwise on the image. ``confidence`` (0..1) is the reader's own, for
    readers that have one (text recognition); a decoded code is certain.
    """

    text: str
    format: str
    corners: tuple[Point, Point, Point, Point]
    angle: float
    confidence: float = 1.0

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The axis-aligned box around the corners: left, top, right, bottom, inclusive."""
        xs = [x for x, _ in self.corners]
        ys = [y for _, y in self.corners]
        return min(xs), min(ys), max(xs), max(ys)

    def bounds(self, height: int, width: int) -> tuple[int, int, int, int]:
        """The axis-aligned box inside an image of that size: x, y, width, height."""
        left, top, right, bottom = self.box
        left, right = (min(max(x, 0), width - 1) for x in (left, right))
        top, bottom = (min(max(y, 0), height - 1) for y in (top, bottom))
        # corners are pixels of the symbol, so the box includes the last ones
        return left, top, right - left + 1, bottom - top + 1


@dataclass(frozen=True)
class ReadingSample:
    """One image and every label on it (none: nothing should be read there)."""

    image: Path
    labels: tuple[Label, ...]


@dataclass(frozen=True)
class ReadingSet:
    root: Path
    samples: tuple[ReadingSample, ...]


def load_reading_set(root: Path, formats: Collection[str] | None = None) -> ReadingSet:
    """Read ``root/labels.csv``; a malformed row or a missing image is refused with its line.

    ``formats`` are the format names a ``format`` column may hold; None refuses the
    column (a reader that does not tell formats apart).
    """
    path = root / LABELS_FILE
    if not path.is_file():
        raise DatasetError(f"{root}: no {LABELS_FILE}; expected {READING_LAYOUT}")
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            rows = list(csv.reader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot be read as CSV: {exc}") from exc
    if not rows:
        raise DatasetError(f"{path}: empty; expected {READING_LAYOUT}")
    header = [name.strip() for name in rows[0]]
    _check_header(path, header, formats is not None)
    labels: dict[Path, list[Label]] = {}
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path}, line {number}"
        if len(row) != len(header):
            raise DatasetError(
                f"{where}: expected {len(header)} fields ({','.join(header)}), got {len(row)}"
            )
        cells = dict(zip(header, row, strict=True))
        name = cells["file"].strip()
        if not name:
            raise DatasetError(f"{where}: the file is empty")
        image = root / name
        if not image.is_file():
            raise DatasetError(f"{where}: image {image} not found")
        found = labels.setdefault(image, [])
        if cells["text"]:
            found.append(Label(cells["text"], _format(where, cells.get("format"), formats)))
    if not labels:
        raise DatasetError(f"{path}: no rows; expected {READING_LAYOUT}")
    samples = tuple(ReadingSample(image, tuple(found)) for image, found in labels.items())
    return ReadingSet(root, samples)


def _check_header(path: Path, header: list[str], formats: bool) -> None:
    allowed = {"file", "text", "format"} if formats else {"file", "text"}
    unknown = [name for name in header if name not in allowed]
    missing = [name for name in ("file", "text") if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise DatasetError(
            f"{path}, line 1: the header is {','.join(header)}; expected file,text"
            + (" and optionally format" if formats else "")
        )


def _format(where: str, value: str | None, formats: Collection[str] | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if formats is not None and value not in formats:
        raise DatasetError(f"{where}: unknown format {value!r} (known: {', '.join(formats)})")
    return value


@dataclass(frozen=True)
class _Misread:
    """An image with a label not read or a read that fits no label, kept for the report."""

    path: Path
    view: Image | None
    readings: tuple[tuple[Reading, bool], ...]
    missed: tuple[Label, ...]


@dataclass
class ReadingEvaluation:
    """How well a reader read a labelled dataset, and how long it took per image."""

    labels: int = 0
    labels_read: int = 0
    readings: int = 0
    false_readings: int = 0
    ms: list[float] = field(default_factory=list)
    misreads: list[_Misread] = field(default_factory=list)

    @property
    def read_rate(self) -> float:
        return self.labels_read / self.labels if self.labels else 0.0

    @property
    def false_read_rate(self) -> float:
        return self.false_readings / self.readings if self.readings else 0.0

    def as_json(self) -> dict[str, Any]:
        """The ``eval --json`` object (keys fixed by the CLI contract)."""
        return {
            "read_rate": round(self.read_rate, 4),
            "false_read_rate": round(self.false_read_rate, 4),
            "n_images": len(self.ms),
            "ms_per_image_p50": round(float(np.percentile(self.ms, 50)), 4),
            "ms_per_image_p95": round(float(np.percentile(self.ms, 95)), 4),
            "n_labels": self.labels,
            "n_reads": self.readings,
            "n_misread_images": len(self.misreads),
        }

    def write_report(self, folder: Path) -> list[Path]:
        """metrics.json and, in ``misreads/``, the images read wrongly (when kept):
        right reads outlined in green, false ones in red, missed labels listed below."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        drawn = [misread for misread in self.misreads if misread.view is not None]
        for rank, misread in enumerate(drawn[:SHOWN_IMAGES], 1):
            target = folder / "misreads" / f"{rank}_{misread.path.stem}.png"
            target.parent.mkdir(exist_ok=True)
            cv2.imwrite(str(target), _drawn(misread))
            written.append(target)
        metrics = folder / "metrics.json"
        metrics.write_text(json.dumps(self.as_json(), indent=2) + "\n", encoding="utf-8")
        return [*written, metrics]


def _drawn(misread: _Misread) -> Image:
    assert misread.view is not None  # only kept images are drawn
    picture = as_bgr(misread.view).copy()
    for reading, right in misread.readings:
        corners = np.array(reading.corners, np.int32).reshape(-1, 1, 2)
        cv2.polylines(picture, [corners], True, _RIGHT if right else _WRONG, 2, cv2.LINE_AA)
    legend: list[tuple[str, Color | None]] = [
        (f"read: {reading.text!r} ({reading.format})", _RIGHT if right else _WRONG)
        for reading, right in misread.readings
    ]
    legend += [(f"missed: {label.text!r}", None) for label in misread.missed]
    return np.vstack([picture, legend_strip(picture, legend)])


class ReadingEvaluator:
    """Collects each image's readings against its labels."""

    def __init__(self, keep_examples: bool = False) -> None:
        self.result = ReadingEvaluation()
        self._keep = keep_examples

    def add(
        self, sample: ReadingSample, readings: Sequence[Reading], ms: float,
        view: Image | None = None,
    ) -> None:
        """One image: what was read on ``view`` (the image as the reader saw it), in ms."""
        matched = _match(sample.labels, readings)
        result = self.result
        result.labels += len(sample.labels)
        result.labels_read += len(matched)
        result.readings += len(readings)
        result.false_readings += len(readings) - len(matched)
        result.ms.append(ms)
        if len(matched) < max(len(sample.labels), len(readings)):
            read_right = set(matched.values())
            result.misreads.append(_Misread(
                sample.image,
                view if self._keep and len(result.misreads) < SHOWN_IMAGES else None,
                tuple((reading, i in read_right) for i, reading in enumerate(readings)),
                tuple(label for i, label in enumerate(sample.labels) if i not in matched),
            ))


def _match(labels: Sequence[Label], readings: Sequence[Reading]) -> dict[int, int]:
    """Label index -> the reading index it is matched to, each used once.

    Labels that name a format go first: a reading that fits one of them and also a
    format-less label is then never taken by the less particular label.
    """
    matched: dict[int, int] = {}
    order = sorted(range(len(labels)), key=lambda i: labels[i].format is None)
    for i in order:
        for j, reading in enumerate(readings):
            if j not in matched.values() and labels[i].fits(reading):
                matched[i] = j
                break
    return matched


def measure_reader(
    data: ReadingSet,
    read: Callable[[Image], list[Reading]],
    prepare: Callable[[Image], Image],
    keep_examples: bool,
    progress: Progress | None = None,
) -> ReadingEvaluation:
    """Every sample read as the flow would (``prepare`` replays the modules before the
    reader), timed, and matched to its labels; an image the reader refuses stops the
    evaluation naming the image."""
    evaluator = ReadingEvaluator(keep_examples)
    for done, sample in enumerate(data.samples, 1):
        image = prepare(read_image_file(sample.image))
        started = time.perf_counter()
        try:
            readings = read(image)
        except FlowError as exc:
            raise DatasetError(f"{sample.image}: {exc.message}") from exc
        evaluator.add(sample, readings, (time.perf_counter() - started) * 1000, image)
        if progress:
            progress(done, len(data.samples), "eval")
    return evaluator.result
