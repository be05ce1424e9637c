"""OCR: reads the lines of text in the image (its ``roi``, or the rectangles found before).

Lines are found and read with the PP-OCRv6 small models that ship inside the rapidocr
wheel, run on onnxruntime (see :mod:`inspekt.models.text_reader`); nothing is
downloaded. Per image each line is added to ``context["ocr"]`` as ``{"module", "text",
"confidence", "box", "angle"}`` and as a rectangle (``source.type`` ``CODE``, the text as
its class, the line's direction in ``rotate``). The result is NOK when a region has
fewer or more lines than ``expected_lines`` (none at all, unless set), when a text does
not fully match ``pattern``, or, with ``match_data``, is not the request's ``data``;
each reason is a sentence in ``context["ocrProblems"]``.

``inspekt eval`` measures it on ``labels.csv`` (see :mod:`inspekt.evaluation.reading`).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import Field

from ..errors import FlowError
from ..evaluation.reading import Reading, ReadingEvaluation, load_reading_set, measure_reader
from ..imaging.regions import Rect, roi_view
from ..imaging.render import as_bgr
from ..models.text_reader import Line, TextReader
from ..results import ClassName, Rectangle, add_rectangles
from ..types import Context, Image
from .base import EvaluableModule, ModuleEnv, ModuleOptions, Progress, RegexPattern
from .registry import module_type

__all__ = ["OcrModule", "OcrOptions"]

#: The format every reading has (``labels.csv`` for OCR has no format column).
TEXT_FORMAT = "text"
_COLOR = "#00e5ff"
#: Regions (a roi, a rectangle) are padded by this share of their smaller side, at
#: least _MIN_PAD px: the detector misses text that touches the border.
_PAD_SHARE = 0.25
_MIN_PAD = 8
#: A character's other choice counts as a look-alike from this probability on.
_LOOK_ALIKE = 0.05
#: Places with look-alikes tried at most, the least sure ones (4 choices each at most).
_MAX_UNSURE = 6

Matrix = npt.NDArray[np.float64]


class OcrOptions(ModuleOptions):
    type: Literal["ocr@1"]
    roi: Rect | None = Field(None, description="Only text inside this rectangle is read.")
    regions: Literal["image", "rectangles"] = Field(
        "image",
        description="Where to read: the image (or its roi), or inside each rectangle "
        "already in the context (found by a module before this one).",
    )
    allowed_characters: str | None = Field(
        None,
        min_length=1,
        description="Characters a text may have; others are dropped from what was read "
        "before it is checked and reported.",
    )
    pattern: RegexPattern | None = Field(
        None,
        description="Regular expression every line's whole text must match; one that does "
        "not is NOK.",
    )
    match_data: bool = Field(
        False,
        description="Every line's text must equal the request's data; one that does not "
        "is NOK.",
    )
    expected_lines: int | None = Field(
        None,
        ge=0,
        description="Lines each region must have; another count is NOK. Unset: at least one.",
    )
    min_confidence: float = Field(
        0.5, ge=0.0, le=1.0,
        description="Lines read with a lower confidence (0..1) are not reported.",
    )
    angle: Literal[0, 90, 180, 270, "auto"] = Field(
        0,
        description="How the text is turned, clockwise in degrees; auto: each line is "
        "turned upright by the shipped angle classifier (vertical lines too).",
    )
    invert: bool = Field(False, description="Light text on a dark ground: invert first.")
    upscale_below: int = Field(
        32, ge=0,
        description="Regions and lines lower than this (px) are enlarged before reading.",
    )


@dataclass(frozen=True)
class _Region:
    """Where text is read: a box of the image, x, y, width, height, and its rectangle id."""

    x: int
    y: int
    width: int
    height: int
    rectangle: int | None = None


@module_type
class OcrModule(EvaluableModule):
    """OCR: reads the lines of text in the image (its ``roi``, or the rectangles found before)."""

    options_model = OcrOptions
    options: OcrOptions

    def __init__(self, options: OcrOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self._pattern = None if options.pattern is None else re.compile(options.pattern)
        self._allowed = None if options.allowed_characters is None else set(
            options.allowed_characters
        )
        self._reader: TextReader | None = None

    def open(self) -> None:
        if self._reader is None:
            self._reader = TextReader(classify_angle=self.options.angle == "auto")

    def close(self) -> None:
        self._reader = None

    # ---- reading ---------------------------------------------------------------------------

    def read(self, image: Image, region: _Region | None = None) -> list[Reading]:
        """Every line in the region (the roi, or the whole image), in image coordinates."""
        if self._reader is None:
            self.open()
        assert self._reader is not None
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
            raise FlowError(
                f"{self.name}: cannot read text in a {image.dtype} image of shape {image.shape}"
            )
        height, width = image.shape[:2]
        if region is None:
            roi = self.options.roi
            region = _Region(0, 0, width, height) if roi is None else _Region(
                roi.x, roi.y, roi.width, roi.height
            )
        rect = Rect(x=region.x, y=region.y, width=region.width, height=region.height)
        view = roi_view(image, rect)
        if view.size == 0:
            raise FlowError(
                f"{self.name}: the region {region.x},{region.y} {region.width}x"
                f"{region.height} lies outside the {width}x{height} image"
            )
        prepared, to_image = self._prepared(
            as_bgr(view), region.x, region.y, whole=view.shape[:2] == image.shape[:2]
        )
        lines = self._reader.read(prepared, self.options.upscale_below)
        readings = []
        for line in lines:
            reading = self._reading(line, to_image, height, width)
            if reading is not None:
                readings.append(reading)
        return readings

    def _prepared(self, view: Image, left: int, top: int, whole: bool) -> tuple[Image, Matrix]:
        """The region as the reader takes it (inverted, enlarged, padded, turned upright),
        and the matrix that takes its pixels back to the image's."""
        o = self.options
        if o.invert:
            view = cast(Image, cv2.bitwise_not(view))
        to_image = _translation(left, top)
        height, width = view.shape[:2]
        if height < o.upscale_below:
            scale = 2 * o.upscale_below / height
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            view = cast(Image, cv2.resize(view, size, interpolation=cv2.INTER_CUBIC))
            to_image = to_image @ np.diag([1 / scale, 1 / scale, 1.0])
        if not whole:
            pad = max(_MIN_PAD, round(min(view.shape[:2]) * _PAD_SHARE))
            view = cast(Image, cv2.copyMakeBorder(view, pad, pad, pad, pad, cv2.BORDER_REPLICATE))
            to_image = to_image @ _translation(-pad, -pad)
        if o.angle in (90, 180, 270):
            view, turned_to_view = _upright(view, o.angle)
            to_image = to_image @ turned_to_view
        return np.ascontiguousarray(view), to_image

    def _reading(self, line: Line, to_image: Matrix, height: int, width: int) -> Reading | None:
        """The line in image coordinates, read as the options ask (see ``_chosen``); None
        when it is not sure enough or nothing allowed is left."""
        text, confidence = self._chosen(line)
        if not text or confidence < self.options.min_confidence:
            return None
        points = np.hstack([line.corners.astype(np.float64), np.ones((4, 1))]) @ to_image[:2].T
        corners = [
            (int(np.clip(round(x), 0, width - 1)), int(np.clip(round(y), 0, height - 1)))
            for x, y in points
        ]
        (x0, y0), (x1, y1) = points[0], points[1]
        angle = round(float(np.degrees(np.arctan2(y1 - y0, x1 - x0))), 1)
        tl, tr, br, bl = corners
        return Reading(text, TEXT_FORMAT, (tl, tr, br, bl), 180.0 if angle == -180.0 else angle,
                       confidence=round(confidence, 4))

    def _chosen(self, line: Line) -> tuple[str, float]:
        """The line's text and confidence (its characters' mean) as the options read it.

        Where a character is not allowed, its likeliest allowed look-alike (a choice of
        at least ``_LOOK_ALIKE``) is taken, and the character dropped when none is that
        likely (``0`` for an ``O`` among digits; the ``SN:`` before them). When the text
        does not match ``pattern``, the likeliest look-alikes that make it match are
        taken (a ``6`` read for a ``G`` where the pattern wants a letter): the pattern is
        what the line knows the print to be, as a person reading it would use it.
        """
        places: list[list[tuple[str, float]]] = []
        for choices in line.choices or tuple(((char, line.confidence),) for char in line.text):
            likely = [choices[0], *(c for c in choices[1:] if c[1] >= _LOOK_ALIKE)]
            if self._allowed is not None:
                likely = [c for c in likely if c[0] in self._allowed]
            if likely:
                places.append(likely)
        chosen = [place[0] for place in places]
        if self._pattern is not None and not self._pattern.fullmatch(_text(chosen)):
            chosen = _matching(places, self._pattern) or chosen
        while chosen and chosen[0][0].isspace():
            chosen = chosen[1:]
        while chosen and chosen[-1][0].isspace():
            chosen = chosen[:-1]
        if not chosen:
            return "", 0.0
        return _text(chosen), float(np.mean([chance for _, chance in chosen]))

    # ---- evaluation ------------------------------------------------------------------------

    def evaluate(
        self, dataset: Path, progress: Progress | None = None, keep_examples: bool = False
    ) -> ReadingEvaluation:
        """Measured on the image (or its roi): with ``regions: rectangles`` too, as no
        module before this one runs to find rectangles."""
        data = load_reading_set(dataset)
        return measure_reader(
            data, self.read, lambda image: self.preparation(image)[0], keep_examples, progress
        )

    # ---- inspection ------------------------------------------------------------------------

    def run(self, context: Context) -> None:
        image: Image = context["image"]
        height, width = image.shape[:2]
        problems: list[str] = []
        found: list[tuple[_Region | None, list[Reading]]] = []
        if self.options.regions == "image":
            found.append((None, self.read(image)))
        else:
            regions = _rectangles(context, self.options.roi)
            if not regions:
                problems.append(f"{self.name}: no rectangles to read text in")
            found += [(region, self.read(image, region)) for region in regions]
        entries = context.setdefault("ocr", [])
        rectangles = []
        for region, readings in found:
            for reading in readings:
                entries.append({
                    "module": self.name,
                    "text": reading.text,
                    "confidence": reading.confidence,
                    "box": [list(corner) for corner in reading.corners],
                    "angle": reading.angle,
                    "rectangle": None if region is None else region.rectangle,
                })
                rectangles.append(self._rectangle(reading, height, width))
            problems += self._problems(readings, str(context.get("data") or ""), region)
        add_rectangles(context, rectangles)
        if problems:
            context.setdefault("ocrProblems", []).extend(problems)
            context["result"] = False

    def _problems(
        self, readings: list[Reading], data: str, region: _Region | None
    ) -> list[str]:
        """Why the lines read in one region make the part NOK, one sentence each."""
        o = self.options
        where = "" if region is None else f" in rectangle {region.rectangle}"
        problems = []
        count = len(readings)
        if o.expected_lines is None and count == 0:
            problems.append(f"{self.name}: expected at least 1 line of text{where}, read 0")
        elif o.expected_lines is not None and count != o.expected_lines:
            plural = "" if o.expected_lines == 1 else "s"
            problems.append(
                f"{self.name}: expected {o.expected_lines} line{plural} of text{where}, "
                f"read {count}"
            )
        for reading in readings:
            if self._pattern is not None and not self._pattern.fullmatch(reading.text):
                problems.append(f"{self.name}: {reading.text!r} does not match {o.pattern}")
            if o.match_data and reading.text != data:
                problems.append(f"{self.name}: {reading.text!r} is not the data {data!r}")
        return problems

    def _rectangle(self, reading: Reading, height: int, width: int) -> Rectangle:
        x, y, box_width, box_height = reading.bounds(height, width)
        confidence = reading.confidence
        return Rectangle(
            x, y, box_width, box_height, confidence,
            (ClassName(reading.text, confidence, _COLOR),), self.module_id, "CODE",
            rotate=reading.angle,
        )


def _text(chosen: list[tuple[str, float]]) -> str:
    return "".join(char for char, _ in chosen).strip()


def _matching(
    places: list[list[tuple[str, float]]], pattern: re.Pattern[str]
) -> list[tuple[str, float]] | None:
    """The likeliest choice of look-alikes whose text matches ``pattern``; None when no
    choice among the ``_MAX_UNSURE`` least sure places' does."""
    unsure = sorted(
        (index for index, place in enumerate(places) if len(place) > 1),
        key=lambda index: places[index][0][1],
    )[:_MAX_UNSURE]
    best: list[tuple[str, float]] | None = None
    best_score = -math.inf
    for picks in itertools.product(*(places[index] for index in unsure)):
        chosen = [place[0] for place in places]
        for index, pick in zip(unsure, picks, strict=True):
            chosen[index] = pick
        score = sum(math.log(max(chance, 1e-9)) for _, chance in picks)
        if score > best_score and pattern.fullmatch(_text(chosen)):
            best, best_score = chosen, score
    return best


def _rectangles(context: Context, roi: Rect | None) -> list[_Region]:
    """The rectangles in the context as regions (inside the roi, when there is one)."""
    regions = []
    for rectangle in context.get("detectedRectangles") or []:
        try:
            x, y = int(rectangle["x"]), int(rectangle["y"])
            width, height = int(rectangle["width"]), int(rectangle["height"])
        except (KeyError, TypeError, ValueError):
            continue  # not a rectangle (user code may add anything)
        if width <= 0 or height <= 0:
            continue
        if roi is not None and not (
            roi.x <= x and roi.y <= y
            and x + width <= roi.x + roi.width and y + height <= roi.y + roi.height
        ):
            continue
        identifier = rectangle.get("id")
        regions.append(_Region(
            max(x, 0), max(y, 0), width + min(x, 0), height + min(y, 0),
            identifier if isinstance(identifier, int) else None,
        ))
    return [region for region in regions if region.width > 0 and region.height > 0]


def _translation(dx: float, dy: float) -> Matrix:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _upright(view: Image, angle: int) -> tuple[Image, Matrix]:
    """The view turned so text turned ``angle`` degrees clockwise reads upright, and the
    matrix from the turned view's pixels back to the view's."""
    height, width = view.shape[:2]
    if angle == 90:
        back = [[0.0, -1.0, width], [1.0, 0.0, 0.0]]
        turned = cv2.rotate(view, cv2.ROTATE_90_COUNTERCLOCKWISE)
    elif angle == 180:
        back = [[-1.0, 0.0, width], [0.0, -1.0, height]]
        turned = cv2.rotate(view, cv2.ROTATE_180)
    else:
        back = [[0.0, 1.0, 0.0], [-1.0, 0.0, height]]
        turned = cv2.rotate(view, cv2.ROTATE_90_CLOCKWISE)
    return cast(Image, turned), np.array([*back, [0.0, 0.0, 1.0]])
