"""Barcode: reads every 1D and 2D code in the image (or its ``roi``), with no training.

Codes are read with zxing-cpp, in any orientation, inverted ones too; linear codes
turned away from the axes, which zxing-cpp's scan lines miss, are found by their bars'
gradients and read cut out upright (see ``_turned_linear``). Per image each
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
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import cv2
import numpy as np
import zxingcpp
from pydantic import Field

from ..errors import FlowError
from ..evaluation.reading import (
    Reading,
    ReadingEvaluation,
    load_reading_set,
    measure_reader,
)
from ..imaging.regions import Rect, roi_view
from ..imaging.render import as_bgr
from ..results import ClassName, Rectangle, add_rectangles
from ..types import Context, Image
from .base import EvaluableModule, ModuleEnv, ModuleOptions, Progress, RegexPattern
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
    pattern: RegexPattern | None = Field(
        None,
        description="Regular expression every code's whole text must match; one that does "
        "not is NOK.",
    )
    match_data: bool = Field(
        False, description="Every code's text must equal the request's data; one that does "
        "not is NOK.",
    )


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
        linear = [name for name in options.formats if name in _LINEAR]
        self._linear = zxingcpp.BarcodeFormats(
            [getattr(zxingcpp.BarcodeFormat, name) for name in linear]
        ) if linear else None

    def read(self, image: Image) -> list[Reading]:
        """Every code in the image's ROI, in image coordinates.

        zxing-cpp's cost grows with the pixels it scans and the formats it looks for, and
        a code is a small part of a camera's frame: so the busy areas (blocks of many
        edges, where every code's modules are) are read first, each alone; then, while
        fewer codes than expected (at least one, unset) were read, the areas enlarged
        twice (modules of 3 px or less, blurred or noisy, read there), then the whole view
        (a faint code no area held). The pass that read the most is kept.
        """
        view = roi_view(image, self.options.roi)
        if view.size == 0:
            height, width = image.shape[:2]
            raise FlowError(f"{self.name}: the roi lies outside the {width}x{height} image")
        gray = _gray(view, self.name)
        left, top = (0, 0) if self.options.roi is None else (self.options.roi.x, self.options.roi.y)
        blocks = _BlockGradients.of(gray)
        areas = _busy_areas(blocks, gray.shape)
        whole = [(0, 0, gray.shape[1], gray.shape[0])]
        passes = [(areas, 1)] if areas == whole else [(areas, 1), (areas, 2), (whole, 1)]
        wanted = 1 if self.options.expected_count is None else self.options.expected_count
        best: list[Reading] = []
        for boxes, scale in passes:
            found = self._with_turned_linear(gray, blocks, left, top, [
                reading
                for x0, y0, x1, y1 in boxes
                for reading in self._zxing(gray[y0:y1, x0:x1], x0 + left, y0 + top, scale)
            ])
            if len(found) > len(best):
                best = found
            if len(best) >= wanted:
                break
        return best

    def _zxing(self, gray: Image, left: int, top: int, scale: int = 1) -> list[Reading]:
        """zxing-cpp's readings of ``gray`` enlarged ``scale`` times (in any orientation,
        inverted too), in the coordinates of ``gray`` moved by ``(left, top)``."""
        if scale != 1:
            gray = cast(Image, cv2.resize(
                gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC
            ))
        found = zxingcpp.read_barcodes(
            # a cropped view has strides the reader's buffer cannot take
            np.ascontiguousarray(gray),
            formats=self._formats, try_rotate=True, try_downscale=True, try_invert=True,
        )
        readings = []
        for code in found:
            at = code.position
            tl, tr, br, bl = (
                (round(point.x / scale) + left, round(point.y / scale) + top)
                for point in (at.top_left, at.top_right, at.bottom_right, at.bottom_left)
            )
            readings.append(Reading(code.text, code.format.name, (tl, tr, br, bl),
                                    float(code.orientation)))
        return readings

    def _with_turned_linear(
        self, gray: Image, blocks: _BlockGradients, left: int, top: int, found: list[Reading]
    ) -> list[Reading]:
        """zxing-cpp's readings with each linear code's bands joined, and the linear codes
        turned too far for its scan lines added."""
        readings = _bands_joined(found)
        if self._linear is None:
            return readings
        return readings + _turned_linear(gray, blocks, self._linear, readings, left, top)

    # ---- evaluation ------------------------------------------------------------------------

    def evaluate(
        self, dataset: Path, progress: Progress | None = None, keep_examples: bool = False
    ) -> ReadingEvaluation:
        data = load_reading_set(dataset, FORMATS)
        return measure_reader(
            data, self.read, lambda image: self.preparation(image)[0], keep_examples, progress
        )

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


# ---- where codes may be ------------------------------------------------------------------

#: The block search works on the image shrunk by a whole factor to at most this many
#: pixels a side.
_SEARCH_SIDE = 1024
#: A search block's side on the shrunk image (px).
_BLOCK = 8
#: A block is busy (may hold a code's modules) above this mean squared gradient (gray
#: levels per pixel, squared): a 3 px module at 60 levels of contrast, blurred by 1.2 px,
#: is several times that; smooth or grained part surfaces are well under it.
_BUSY = 30.0
#: ...unless it is mostly one edge (a part's outline, a hole, a label's rim): the squared
#: mean gradient over the mean squared gradient, near 1 for one step, near 0 where edges
#: rise and fall in turn as across a code's modules or bars.
_ONE_EDGE = 0.2
#: A busy area is read with this much around it, in blocks: the quiet zone, and a code's
#: rim that blur left under the threshold.
_BUSY_MARGIN = 2
#: Busy areas covering more than this share of the image are read as the whole image
#: (a textured part): one scan then costs less than many overlapping ones.
_BUSY_SHARE = 0.5


def _gray(view: Image, name: str) -> Image:
    """The view as contiguous 8-bit gray: what both searches and zxing-cpp read."""
    if view.dtype != np.uint8:
        raise FlowError(
            f"{name}: cannot read codes in a {view.dtype} image of shape {view.shape}: "
            "codes are read in 8-bit images"
        )
    if view.ndim == 2 or view.shape[2] == 1:
        return np.ascontiguousarray(view.reshape(view.shape[:2]))
    return cast(Image, cv2.cvtColor(as_bgr(view), cv2.COLOR_BGR2GRAY))


@dataclass(frozen=True)
class _BlockGradients:
    """The structure tensor (mean ``gx²``, ``gy²``, ``gx·gy``) and the mean gradient
    (``x``, ``y``) of each block of the image shrunk to at most ``_SEARCH_SIDE`` a side;
    ``side`` is a block's side on the image."""

    xx: np.ndarray
    yy: np.ndarray
    xy: np.ndarray
    x: np.ndarray
    y: np.ndarray
    side: int

    @classmethod
    def of(cls, gray: Image) -> _BlockGradients:
        height, width = gray.shape[:2]
        shrink = -(-max(height, width) // _SEARCH_SIDE)  # whole: OpenCV's fast path, no aliasing
        small = gray if shrink == 1 else cv2.resize(
            gray[: height // shrink * shrink, : width // shrink * shrink],
            (width // shrink, height // shrink), interpolation=cv2.INTER_AREA,
        )
        rows, cols = small.shape[0] // _BLOCK, small.shape[1] // _BLOCK
        if rows < 2 or cols < 2:
            empty = np.zeros((0, 0), np.float32)
            return cls(empty, empty, empty, empty, empty, _BLOCK * shrink)
        small = small[: rows * _BLOCK, : cols * _BLOCK].astype(np.float32)
        gx = cv2.Scharr(small, cv2.CV_32F, 1, 0, scale=1 / 32)
        gy = cv2.Scharr(small, cv2.CV_32F, 0, 1, scale=1 / 32)
        xx, yy, xy, x, y = (
            cv2.resize(product, (cols, rows), interpolation=cv2.INTER_AREA)
            for product in (gx * gx, gy * gy, gx * gy, gx, gy)
        )
        return cls(xx, yy, xy, x, y, _BLOCK * shrink)


def _busy_areas(blocks: _BlockGradients, shape: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x0, y0, x1, y1)`` around the busy blocks, with a margin, overlapping ones
    joined; the whole image when they would cover most of it."""
    height, width = shape[:2]
    if blocks.xx.size == 0:
        return [(0, 0, width, height)]
    energy = blocks.xx + blocks.yy
    one_edge = (blocks.x**2 + blocks.y**2) / (energy + 1e-6)
    busy = ((energy > _BUSY) & (one_edge < _ONE_EDGE)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(busy, connectivity=8)
    boxes = []
    for label in range(1, count):
        x, y, w, h = (int(v) for v in stats[label, :4])
        boxes.append((
            max(0, (x - _BUSY_MARGIN) * blocks.side),
            max(0, (y - _BUSY_MARGIN) * blocks.side),
            min(width, (x + w + _BUSY_MARGIN) * blocks.side),
            min(height, (y + h + _BUSY_MARGIN) * blocks.side),
        ))
    boxes = _joined_boxes(boxes)
    if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes) > _BUSY_SHARE * width * height:
        return [(0, 0, width, height)]
    return boxes


def _joined_boxes(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """The boxes with every overlapping pair replaced by the box around both, until none
    overlap: a code split over two areas is read whole."""
    joined: list[tuple[int, int, int, int]] = []
    for box in boxes:
        while True:
            touching = [
                other for other in joined
                if other[0] < box[2] and box[0] < other[2]
                and other[1] < box[3] and box[1] < other[3]
            ]
            if not touching:
                break
            joined = [other for other in joined if other not in touching]
            box = (
                min(box[0], *(o[0] for o in touching)), min(box[1], *(o[1] for o in touching)),
                max(box[2], *(o[2] for o in touching)), max(box[3], *(o[3] for o in touching)),
            )
        joined.append(box)
    return joined


# ---- linear codes turned away from the axes --------------------------------------------------

#: A block is part of a bar code when its gradients are this coherent (0..1)...
_COHERENCE = 0.5
#: ...and strong: this mean squared gradient (gray levels per pixel, squared).
_ENERGY = 60.0
#: A block's gradients point the way of its blob's within this many degrees.
_SAME_WAY_DEG = 20.0
#: Blocks a candidate has at least, and candidates read at most per image (largest first).
_MIN_BLOCKS = 6
_CANDIDATES = 6
#: An unread crop is read again sharpened by this much (unsharp masking)...
_SHARPEN = 1.0
#: ...and smoothed along its bars by this Gaussian sigma (px) first.
_ALONG_BARS = 3.0

#: A candidate: the affine map from the image onto its upright crop, and the crop's size.
_Candidate = tuple[np.ndarray, tuple[int, int]]


def _turned_linear(
    gray: Image,
    blocks: _BlockGradients,
    formats: zxingcpp.BarcodeFormats,
    known: list[Reading],
    left: int,
    top: int,
) -> list[Reading]:
    """Linear codes turned too far from the axes for zxing-cpp's scan lines: each region of
    strong, parallel gradients is cut out with its bars upright along its length and read
    alone; a code already among ``known`` is not read twice. Corners are in image
    coordinates."""
    found: list[Reading] = []
    for upright, size in _bar_regions(gray, blocks):
        back = cv2.invertAffineTransform(upright)
        x, y = back @ (size[0] / 2, size[1] / 2, 1.0)
        if any(
            _inside(x + left, y + top, reading)
            for reading in (*known, *found) if reading.format in _LINEAR
        ):
            continue  # read already
        codes, scale = _read_upright(gray, upright, size, formats)
        readings = []
        for code in codes:
            at = code.position
            points = [
                back @ (point.x / scale, point.y / scale, 1.0)
                for point in (at.top_left, at.top_right, at.bottom_right, at.bottom_left)
            ]
            tl, tr, br, bl = ((round(px) + left, round(py) + top) for px, py in points)
            angle = float(round(np.degrees(np.arctan2(tr[1] - tl[1], tr[0] - tl[0]))))
            readings.append(Reading(code.text, code.format.name, (tl, tr, br, bl), angle))
        for reading in readings:
            # one code read as two texts (bands of a warped code scanned differently)
            # is no read: one of them is false
            if any(
                _same_place(reading, other) and other.text != reading.text
                for other in (*readings, *known, *found) if other.format in _LINEAR
            ):
                continue
            if not any(_bands_of_one_code(reading, other) for other in (*known, *found)):
                found.append(reading)
    return found


def _read_upright(
    gray: Image, upright: np.ndarray, size: tuple[int, int], formats: zxingcpp.BarcodeFormats
) -> tuple[list[zxingcpp.Barcode], int]:
    """zxing-cpp's codes in the crop that ``upright`` cuts out, and the crop's scale: read
    plain; then sharpened across the bars (narrow bars blurred together), first alone,
    then after smoothing along the bars (noise averaged out where the bars do not
    change); then enlarged twice (2 px bars that the turn resampled unevenly)."""
    crop = _warped(gray, upright, size, 1)
    for attempt in (
        crop,
        _sharpened(crop),
        _sharpened(cast(Image, cv2.GaussianBlur(crop, (1, 0), sigmaX=0.1, sigmaY=_ALONG_BARS))),
    ):
        codes = zxingcpp.read_barcodes(attempt, formats=formats, try_downscale=False)
        if codes:
            return codes, 1
    enlarged = _warped(gray, upright, size, 2)
    return zxingcpp.read_barcodes(enlarged, formats=formats, try_downscale=False), 2


def _warped(gray: Image, upright: np.ndarray, size: tuple[int, int], scale: int) -> Image:
    return cast(Image, cv2.warpAffine(
        gray, upright * scale, (size[0] * scale, size[1] * scale),
        flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE,
    ))


def _sharpened(crop: Image) -> Image:
    """Unsharp masking by ``_SHARPEN``."""
    soft = cv2.GaussianBlur(crop, (0, 0), 1.0)
    return cast(Image, cv2.addWeighted(crop, 1 + _SHARPEN, soft, -_SHARPEN, 0))


def _same_place(a: Reading, b: Reading) -> bool:
    """Whether two readings' boxes overlap."""
    (al, at, ar, ab), (bl, bt, br, bb) = a.box, b.box
    return al <= br and bl <= ar and at <= bb and bt <= ab


def _inside(x: float, y: float, reading: Reading) -> bool:
    left, top, right, bottom = reading.box
    return bool(left <= x <= right and top <= y <= bottom)


def _bar_regions(gray: Image, blocks: _BlockGradients) -> list[_Candidate]:
    """Regions that look like a bar code (blocks of strong gradients that all point one
    way), largest first, each as the map that cuts it out upright."""
    xx, yy, xy = blocks.xx, blocks.yy, blocks.xy
    if xx.size == 0:
        return []
    energy = xx + yy
    coherence = np.sqrt((xx - yy) ** 2 + 4 * xy**2) / (energy + 1e-6)
    mask = ((coherence > _COHERENCE) & (energy > _ENERGY)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    block = float(blocks.side)
    regions: list[_Candidate] = []
    for label in sorted(range(1, count), key=lambda i: -int(stats[i, cv2.CC_STAT_AREA])):
        if stats[label, cv2.CC_STAT_AREA] < _MIN_BLOCKS or len(regions) == _CANDIDATES:
            break
        ys, xs = _one_direction(labels == label, xx, yy, xy)
        if len(xs) < _MIN_BLOCKS:
            continue
        region = _upright(gray, (np.stack([xs, ys], axis=1) + 0.5) * block, block)
        if region is not None:
            regions.append(region)
    return regions


def _one_direction(
    blob: np.ndarray, xx: np.ndarray, yy: np.ndarray, xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The blocks of ``blob`` whose gradients point the blob's main way, the largest
    connected piece of them: a code touching a part's edge is parted from it."""
    ys, xs = np.nonzero(blob)
    main = 0.5 * np.arctan2(2 * xy[ys, xs].sum(), (xx[ys, xs] - yy[ys, xs]).sum())
    each = 0.5 * np.arctan2(2 * xy[ys, xs], xx[ys, xs] - yy[ys, xs])
    near = np.cos(2 * (each - main)) > np.cos(np.radians(2 * _SAME_WAY_DEG))
    if near.all():
        return ys, xs
    kept = np.zeros(blob.shape, np.uint8)
    kept[ys[near], xs[near]] = 1
    count, labels, stats, _ = cv2.connectedComponentsWithStats(kept, connectivity=8)
    if count < 2:
        return ys[:0], xs[:0]
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    ys, xs = np.nonzero(labels == largest)
    return ys, xs


def _upright(gray: Image, points: np.ndarray, block: float) -> _Candidate | None:
    """The map that cuts the blocks centred at ``points`` out of ``gray`` with their bars
    upright and the code's length level, with a margin, and the crop's size; None for
    blocks too narrow across their gradients to be bars (an edge)."""
    height, width = gray.shape[:2]
    x0, y0 = (max(0, int(v - block)) for v in points.min(axis=0))
    x1, y1 = (int(v + block) for v in points.max(axis=0))
    patch = gray[y0 : min(height, y1), x0 : min(width, x1)].astype(np.float32)
    # across the bars: the gradients' direction at full resolution (bars a pixel or two
    # wide alias on the shrunk image), by the mean of the doubled angle, so the two
    # opposite edges of a bar agree
    gx = cv2.Scharr(patch, cv2.CV_32F, 1, 0, scale=1 / 32)
    gy = cv2.Scharr(patch, cv2.CV_32F, 0, 1, scale=1 / 32)
    across = 0.5 * np.arctan2(2 * float((gx * gy).sum()), float((gx * gx - gy * gy).sum()))
    # the code's length: the blocks' long axis; a code seen in perspective has its bars
    # leaning on it, so the crop is sheared, not only turned, to stand them upright
    centre = points.mean(axis=0)
    spread = np.cov((points - centre).T)
    length = 0.5 * np.arctan2(2 * spread[0, 1], spread[0, 0] - spread[1, 1])
    if np.cos(length - across) < 0:
        length += np.pi
    if np.cos(length - across) < np.cos(np.radians(35)):
        length = across  # a blob no longer than tall tells no length: turn only
    axes = np.array([[np.cos(length), -np.sin(across)], [np.sin(length), np.cos(across)]])
    onto = np.linalg.inv(axes)  # image offsets to (along the code, along the bars)
    along, up = onto @ (points - centre).T
    size = np.array([along.max() - along.min(), up.max() - up.min()]) + block
    if size[0] < 3 * block:
        return None
    size = size * 1.2 + 40  # the quiet zone and a margin
    middle = centre + axes @ ((along.max() + along.min()) / 2, (up.max() + up.min()) / 2)
    upright = np.hstack([onto, (size / 2 - onto @ middle)[:, None]])
    return upright, (int(size[0]), int(size[1]))
