"""Barcode: reads every 1D and 2D code in the image (or its ``roi``), with no training.

Codes are read with zxing-cpp, in any orientation, inverted ones too. Per image each
code is added to ``context["codes"]`` as ``{"module", "format", "text", "corners",
"angle"}`` and as a rectangle (``source.type`` ``CODE``, the format as its class, the
code's orientation in ``rotate``). The result is NOK when fewer or more codes than
``expected_count`` were read (none at all, unless set), when a text does not fully
match ``pattern``, or, with ``match_data``, is not the request's ``data``; each reason
is a sentence in ``context["codeProblems"]``.

``inspekt eval`` measures it on ``labels.csv`` (see :mod:`inspekt.evaluation.reading`).
"""

from __future__ import annotations

import re
import time
import typing
from pathlib import Path
from typing import Literal

import numpy as np
import zxingcpp
from pydantic import Field, field_validator

from ..errors import DatasetError, FlowError
from ..evaluation.reading import (
    Reading,
    ReadingEvaluation,
    ReadingEvaluator,
    load_reading_set,
)
from ..imaging.io import read_image_file
from ..imaging.regions import Rect, roi_view
from ..imaging.render import as_bgr
from ..results import ClassName, Rectangle, add_rectangles
from ..types import Context, Image
from .base import EvaluableModule, ModuleEnv, ModuleOptions, Progress
from .registry import module_type

__all__ = ["FORMATS", "BarcodeModule", "BarcodeOptions"]

#: The formats the module reads, by zxing-cpp's names.
FormatName = Literal[
    "QRCode", "MicroQRCode", "DataMatrix", "Aztec", "PDF417", "Code128", "Code39", "EAN13",
    "EAN8", "UPCA", "UPCE", "ITF",
]
FORMATS: tuple[FormatName, ...] = typing.get_args(FormatName)
#: Each format's rectangle colour, in the order of FORMATS.
_COLORS: dict[str, str] = dict(zip(FORMATS, (
    "#2979ff", "#00b8d4", "#d500f9", "#ff6d00", "#ffab00", "#00c853", "#c6ff00", "#ff1744",
    "#f50057", "#651fff", "#3d5afe", "#795548",
), strict=True))

#: zxing-cpp reports a linear code once for each band of scan lines that decoded it,
#: so one skewed bar code can come back several times; these bands are joined.
_LINEAR = frozenset({"Code128", "Code39", "EAN13", "EAN8", "UPCA", "UPCE", "ITF"})


class BarcodeOptions(ModuleOptions):
    type: Literal["barcode@1"]
    formats: list[FormatName] = Field(
        default_factory=lambda: list(FORMATS),
        min_length=1,
        description="Formats to look for; fewer is faster and never mistakes one for another.",
    )
    roi: Rect | None = Field(None, description="Only codes inside this rectangle are read.")
    expected_count: int | None = Field(
        None,
        ge=0,
        description="Codes the image must have; another count is NOK. Unset: at least one.",
    )
    pattern: str | None = Field(
        None,
        description="Regular expression every code's whole text must match; one that does "
        "not is NOK.",
    )
    match_data: bool = Field(
        False, description="Every code's text must equal the request's data; one that does "
        "not is NOK.",
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value


@module_type
class BarcodeModule(EvaluableModule):
    """Barcode: reads every 1D and 2D code in the image (or its ``roi``), with no training."""

    options_model = BarcodeOptions
    options: BarcodeOptions

    def __init__(self, options: BarcodeOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self._formats = zxingcpp.BarcodeFormats(
            [getattr(zxingcpp.BarcodeFormat, name) for name in options.formats]
        )
        self._pattern = None if options.pattern is None else re.compile(options.pattern)

    def read(self, image: Image) -> list[Reading]:
        """Every code in the image's ROI, in image coordinates."""
        view = roi_view(image, self.options.roi)
        if view.size == 0:
            height, width = image.shape[:2]
            raise FlowError(f"{self.name}: the roi lies outside the {width}x{height} image")
        try:
            found = zxingcpp.read_barcodes(
                # a flipped or cropped view has strides the reader's buffer cannot take
                np.ascontiguousarray(view if view.ndim == 2 else as_bgr(view)),
                formats=self._formats, try_rotate=True, try_downscale=True, try_invert=True,
            )
        except (TypeError, ValueError) as exc:
            # zxing-cpp takes only 8-bit gray or BGR pixels
            raise FlowError(
                f"{self.name}: cannot read codes in a {view.dtype} image of shape "
                f"{view.shape}: {exc}"
            ) from exc
        left, top = (0, 0) if self.options.roi is None else (self.options.roi.x, self.options.roi.y)
        readings = []
        for code in found:
            at = code.position
            tl, tr, br, bl = (
                (point.x + left, point.y + top)
                for point in (at.top_left, at.top_right, at.bottom_right, at.bottom_left)
            )
            angle = float(code.orientation)
            readings.append(Reading(code.text, code.format.name, (tl, tr, br, bl), angle))
        return _bands_joined(readings)

    # ---- evaluation ------------------------------------------------------------------------

    def evaluate(
        self, dataset: Path, progress: Progress | None = None, keep_examples: bool = False
    ) -> ReadingEvaluation:
        data = load_reading_set(dataset, FORMATS)
        evaluator = ReadingEvaluator(keep_examples)
        for done, sample in enumerate(data.samples, 1):
            image = self.preparation(read_image_file(sample.image))[0]
            started = time.perf_counter()
            try:
                readings = self.read(image)
            except FlowError as exc:
                raise DatasetError(f"{sample.image}: {exc.message}") from exc
            evaluator.add(sample, readings, (time.perf_counter() - started) * 1000, image)
            if progress:
                progress(done, len(data.samples), "eval")
        return evaluator.result

    # ---- inspection ------------------------------------------------------------------------

    def run(self, context: Context) -> None:
        image: Image = context["image"]
        readings = self.read(image)
        codes = context.setdefault("codes", [])
        for reading in readings:
            codes.append({
                "module": self.name,
                "format": reading.format,
                "text": reading.text,
                "corners": [list(corner) for corner in reading.corners],
                "angle": reading.angle,
            })
        height, width = image.shape[:2]
        add_rectangles(context, [self._rectangle(r, height, width) for r in readings])
        problems = self._problems(readings, str(context.get("data") or ""))
        if problems:
            context.setdefault("codeProblems", []).extend(problems)
            context["result"] = False

    def _problems(self, readings: list[Reading], data: str) -> list[str]:
        """Why the codes read make the part NOK, one sentence each."""
        o = self.options
        problems = []
        count = len(readings)
        if o.expected_count is None and count == 0:
            problems.append(f"{self.name}: expected at least 1 code, read 0")
        elif o.expected_count is not None and count != o.expected_count:
            plural = "" if o.expected_count == 1 else "s"
            problems.append(f"{self.name}: expected {o.expected_count} code{plural}, read {count}")
        for reading in readings:
            if self._pattern is not None and not self._pattern.fullmatch(reading.text):
                problems.append(f"{self.name}: {reading.text!r} does not match {o.pattern}")
            if o.match_data and reading.text != data:
                problems.append(f"{self.name}: {reading.text!r} is not the data {data!r}")
        return problems

    def _rectangle(self, reading: Reading, height: int, width: int) -> Rectangle:
        x, y, box_width, box_height = reading.bounds(height, width)
        # a symbology's variant (a QR Code Model 1 found as a QR code) is not in FORMATS
        known = reading.format in FORMATS
        name = ClassName(
            reading.format, 1.0, _COLORS.get(reading.format, "#ff0000"),
            FORMATS.index(reading.format) + 1 if known else 0,
        )
        return Rectangle(
            x, y, box_width, box_height, 1.0, (name,), self.module_id, "CODE",
            rotate=reading.angle,
        )


def _bands_joined(readings: list[Reading]) -> list[Reading]:
    """The readings with the bands of each linear code joined into one, in reading order."""
    groups: list[list[int]] = []
    for index, reading in enumerate(readings):
        near = [
            group for group in groups
            if any(_bands_of_one_code(reading, readings[other]) for other in group)
        ]
        groups = [group for group in groups if all(group is not n for n in near)]
        groups.append(sorted([index, *(other for group in near for other in group)]))
    groups.sort()
    return [_joined([readings[i] for i in group]) for group in groups]


def _bands_of_one_code(a: Reading, b: Reading) -> bool:
    """Whether two readings are bands of one linear code: the same text, and boxes that
    meet once grown by a quarter of the longer one's length (bands of a skewed code
    decode a few scan lines apart)."""
    if a.format not in _LINEAR or (a.format, a.text) != (b.format, b.text):
        return False
    (al, at, ar, ab), (bl, bt, br, bb) = a.box, b.box
    reach = max(ar - al, ab - at, br - bl, bb - bt) // 4
    return al - reach <= br and bl - reach <= ar and at - reach <= bb and bt - reach <= ab


def _joined(bands: list[Reading]) -> Reading:
    """One reading over every band: the box around them all, turned like the largest band."""
    if len(bands) == 1:
        return bands[0]
    largest = max(bands, key=lambda band: (band.box[2] - band.box[0]) * (band.box[3] - band.box[1]))
    left = min(band.box[0] for band in bands)
    top = min(band.box[1] for band in bands)
    right = max(band.box[2] for band in bands)
    bottom = max(band.box[3] for band in bands)
    corners = [(left, top), (right, top), (right, bottom), (left, bottom)]
    # the code's top-left corner is the box's one turned by its quarter turns
    start = round(largest.angle / 90) % 4
    tl, tr, br, bl = corners[start:] + corners[:start]
    return Reading(largest.text, largest.format, (tl, tr, br, bl), largest.angle)
