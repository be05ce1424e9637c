"""Text lines found and read with the PP-OCR models that ship inside the ``rapidocr`` wheel.

The wheel carries PP-OCRv6 small detection and recognition models and the mobile
angle classifier as ONNX files; they are opened with onnxruntime straight from the
installed package (nothing is downloaded, rapidocr's own code is never run). The
recognition model carries its character list in its metadata.

Detection is DB (Differentiable Binarization): the probability map is thresholded and
each blob's turned rectangle, grown by the usual unclip ratio, is a line. Each line is
cut out upright, scaled to the recognizer's 48 px height and read by greedy CTC
decoding.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from ..errors import ProjectError
from ..types import Image as Pixels
from .onnx import open_session

__all__ = ["MODEL_FILES", "Choices", "Line", "TextReader", "models_folder"]

#: The shipped models, by role, in ``rapidocr/models/``.
MODEL_FILES = {
    "detection": "PP-OCRv6_det_small.onnx",
    "recognition": "PP-OCRv6_rec_small.onnx",
    "angle": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
#: The detector first sees images scaled so their longer side is at most _COARSE_SIDE,
#: then, when a line found there is lower than _COARSE_MIN_HEIGHT (the detector's
#: shrunk core of it, px) or none is, at most _DETECTION_SIDE (multiples of 32).
_COARSE_SIDE = 512
_COARSE_MIN_HEIGHT = 8.0
_DETECTION_SIDE = 960
_BINARY_THRESHOLD = 0.3
_BOX_THRESHOLD = 0.5
_UNCLIP_RATIO = 1.6
_MIN_SIDE = 3
_LINE_HEIGHT = 48
#: Lines are padded to at least this width, as the recognizer was trained.
_MIN_LINE_WIDTH = 320
_MAX_LINE_WIDTH = 3200
#: The angle classifier's input, and how sure it must be to turn a line over.
_ANGLE_SHAPE = (48, 192)
_ANGLE_THRESHOLD = 0.9
#: Characters kept as each read character's choices.
_CHOICES = 4

Corners = npt.NDArray[np.float32]  # 4 x 2: top-left, top-right, bottom-right, bottom-left
Floats = npt.NDArray[np.float32]


#: A character read, as the recognizer's likeliest characters at its place with their
#: probabilities, best first.
Choices = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Line:
    """One line of text read: its text, the mean confidence of its characters (0..1), its
    corners as the text reads (top-left first), in the pixels of the image read, and each
    character's choices (what a look-alike could also have been)."""

    text: str
    confidence: float
    corners: Corners
    choices: tuple[Choices, ...] = ()


def models_folder() -> Path:
    """The installed rapidocr package's models folder (without importing the package)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise ProjectError("the ocr module needs the rapidocr package: pip install rapidocr")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    missing = [name for name in MODEL_FILES.values() if not (folder / name).is_file()]
    if missing:
        raise ProjectError(f"{folder}: the rapidocr package lacks {', '.join(missing)}")
    return folder


class TextReader:
    """The detection and recognition sessions (and the angle classifier's, when asked for)."""

    def __init__(self, classify_angle: bool = False, threads: int = 2) -> None:
        folder = models_folder()
        self._detector = open_session((folder / MODEL_FILES["detection"]).read_bytes(), threads)
        self._recognizer = open_session(
            (folder / MODEL_FILES["recognition"]).read_bytes(), threads
        )
        self._classifier: ort.InferenceSession | None = None
        if classify_angle:
            self._classifier = open_session((folder / MODEL_FILES["angle"]).read_bytes(), threads)
        meta = self._recognizer.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise ProjectError(f"{folder / MODEL_FILES['recognition']}: no character list")
        # CTC's blank first, the space last, as the model was trained
        self.characters = ["", *meta["character"].splitlines(), " "]

    def read(self, image: Pixels, upscale_below: int = 0) -> list[Line]:
        """Every line of text in a BGR image, in reading order (top to bottom, then left to
        right). Lines lower than ``upscale_below`` px are enlarged bicubically."""
        boxes = self.find(image)
        if not boxes:
            return []
        crops, corners = [], []
        for box in boxes:
            crop, turned = _upright(image, box)
            crops.append(crop)
            corners.append(turned)
        if self._classifier is not None:
            for index in self._upside_down(crops):
                crops[index] = cast(Pixels, cv2.rotate(crops[index], cv2.ROTATE_180))
                corners[index] = np.roll(corners[index], 2, axis=0)
        read = self.recognize(crops, upscale_below)
        return [
            Line(text, score, corner, choices)
            for (text, score, choices), corner in zip(read, corners, strict=True)
        ]

    # ---- detection -------------------------------------------------------------------------

    def find(self, image: Pixels) -> list[Corners]:
        """The turned box of every line, in reading order.

        The detector's cost grows with its input's pixels, and it finds lines a dozen
        pixels tall as surely as larger ones: so the image is first searched shrunk to
        ``_COARSE_SIDE``, and again at up to ``_DETECTION_SIDE`` only when that found
        nothing or a line too low to trust (small print on a large image).
        """
        height, width = image.shape[:2]
        coarse = min(1.0, _COARSE_SIDE / max(height, width))
        fine = min(1.0, _DETECTION_SIDE / max(height, width))
        boxes, lowest = self._found(image, coarse)
        if fine > coarse and (not boxes or lowest < _COARSE_MIN_HEIGHT):
            boxes, _ = self._found(image, fine)
        boxes.sort(key=lambda box: (float(box[:, 1].min()), float(box[:, 0].min())))
        return _reading_order(boxes)

    def _found(self, image: Pixels, ratio: float) -> tuple[list[Corners], float]:
        """The lines' boxes found on the image scaled by ``ratio`` (in the image's pixels),
        and the lowest line's height as the detector saw it (inf when none)."""
        height, width = image.shape[:2]
        size_h = max(32, round(height * ratio / 32) * 32)
        size_w = max(32, round(width * ratio / 32) * 32)
        scaled = cast(Pixels, cv2.resize(image, (size_w, size_h), interpolation=cv2.INTER_LINEAR))
        tensor = _normalized(scaled)[None]
        probability = self._detector.run(None, {self._detector.get_inputs()[0].name: tensor})[0]
        heat = np.asarray(probability, np.float32)[0, 0]
        binary = cv2.dilate((heat > _BINARY_THRESHOLD).astype(np.uint8), np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        scale = np.array([width / size_w, height / size_h], np.float32)
        boxes, lowest = [], math.inf
        for contour in contours:
            (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
            if min(w, h) < _MIN_SIDE:
                continue
            if _box_score(heat, np.asarray(contour, np.int32)) < _BOX_THRESHOLD:
                continue
            lowest = min(lowest, min(w, h))
            grow = w * h * _UNCLIP_RATIO / (2 * (w + h))  # the unclip offset of a rectangle
            w, h = w + 2 * grow, h + 2 * grow
            if min(w, h) < _MIN_SIDE + 2:
                continue
            points = cv2.boxPoints(((cx, cy), (w, h), angle)) * scale
            boxes.append(_ordered(points))
        return boxes, lowest

    # ---- recognition -----------------------------------------------------------------------

    def recognize(
        self, crops: list[Pixels], upscale_below: int = 0
    ) -> list[tuple[str, float, tuple[Choices, ...]]]:
        """Each upright line's text, the mean confidence of its characters and their
        choices."""
        if not crops:
            return []
        lines = [_line_input(crop, upscale_below) for crop in crops]
        width = max(_MIN_LINE_WIDTH, *(line.shape[2] for line in lines))
        batch = np.zeros((len(lines), 3, _LINE_HEIGHT, width), np.float32)
        for index, line in enumerate(lines):
            batch[index, :, :, : line.shape[2]] = line
        output = self._recognizer.run(None, {self._recognizer.get_inputs()[0].name: batch})[0]
        probabilities = np.asarray(output, np.float32)
        return [self._decoded(line) for line in probabilities]

    def _decoded(self, probabilities: Floats) -> tuple[str, float, tuple[Choices, ...]]:
        """Greedy CTC: repeats joined, blanks dropped; with each kept frame's
        ``_CHOICES`` likeliest characters (the blank left out)."""
        indexes = probabilities.argmax(axis=1)
        keep = np.ones(len(indexes), bool)
        keep[1:] = indexes[1:] != indexes[:-1]
        keep &= (indexes != 0) & (indexes < len(self.characters))
        if not keep.any():
            return "", 0.0, ()
        kept = probabilities[keep]
        text = "".join(self.characters[i] for i in indexes[keep])
        confidence = float(kept.max(axis=1).mean())
        choices = []
        for frame in kept:
            best = np.argsort(frame)[::-1][: _CHOICES + 1]
            choices.append(tuple(
                (self.characters[i], float(frame[i]))
                for i in best if 0 < i < len(self.characters)
            )[:_CHOICES])
        return text, confidence, tuple(choices)

    def _upside_down(self, crops: list[Pixels]) -> list[int]:
        """Which upright crops the angle classifier is sure read upside down."""
        assert self._classifier is not None
        height, width = _ANGLE_SHAPE
        batch = np.zeros((len(crops), 3, height, width), np.float32)
        for index, crop in enumerate(crops):
            scaled_w = min(width, max(1, math.ceil(height * crop.shape[1] / crop.shape[0])))
            scaled = cv2.resize(crop, (scaled_w, height), interpolation=cv2.INTER_LINEAR)
            batch[index, :, :, :scaled_w] = _normalized(cast(Pixels, scaled))
        output = self._classifier.run(None, {self._classifier.get_inputs()[0].name: batch})[0]
        chances = np.asarray(output, np.float32)
        return [i for i, chance in enumerate(chances) if chance[1] > _ANGLE_THRESHOLD]


def _normalized(image: Pixels) -> Floats:
    """HWC uint8 -> CHW float32 in -1..1, as PP-OCR models take it."""
    return np.ascontiguousarray(
        ((image.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
    )


def _line_input(crop: Pixels, upscale_below: int) -> Floats:
    height, width = crop.shape[:2]
    scaled_w = min(_MAX_LINE_WIDTH, max(1, math.ceil(_LINE_HEIGHT * width / height)))
    interpolation = cv2.INTER_CUBIC if height < upscale_below else cv2.INTER_LINEAR
    scaled = cv2.resize(crop, (scaled_w, _LINE_HEIGHT), interpolation=interpolation)
    return _normalized(cast(Pixels, scaled))


def _box_score(heat: Floats, contour: npt.NDArray[np.int32]) -> float:
    """The mean probability inside the blob."""
    x, y, w, h = cv2.boundingRect(contour)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [contour - np.array([x, y], np.int32)], 1)
    return float(cv2.mean(heat[y : y + h, x : x + w], mask)[0])


def _ordered(points: Floats) -> Corners:
    """Four corners as top-left, top-right, bottom-right, bottom-left."""
    by_x = points[np.argsort(points[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], np.float32)


def _reading_order(boxes: list[Corners]) -> list[Corners]:
    """Boxes sorted by top, then those on one row (tops within 10 px) left to right."""
    ordered = list(boxes)
    for i in range(len(ordered) - 1):
        for j in range(i, -1, -1):
            a, b = ordered[j], ordered[j + 1]
            if abs(float(b[0, 1] - a[0, 1])) < 10 and b[0, 0] < a[0, 0]:
                ordered[j], ordered[j + 1] = b, a
            else:
                break
    return ordered


def _upright(image: Pixels, corners: Corners) -> tuple[Pixels, Corners]:
    """The line cut out straight, and its corners in the order the cut-out reads them
    (a line much taller than wide is taken to read bottom to top and turned)."""
    width = max(1, round(max(np.linalg.norm(corners[0] - corners[1]),
                             np.linalg.norm(corners[3] - corners[2]))))
    height = max(1, round(max(np.linalg.norm(corners[0] - corners[3]),
                              np.linalg.norm(corners[1] - corners[2]))))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    warp = cv2.getPerspectiveTransform(corners, target)
    crop: Pixels = cv2.warpPerspective(  # type: ignore[assignment]
        image, warp, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    if height >= 1.5 * width:
        # the cut-out's top-left becomes what was its top-right
        turned = cast(Pixels, cv2.rotate(crop, cv2.ROTATE_90_COUNTERCLOCKWISE))
        return turned, np.roll(corners, -1, axis=0)
    return crop, corners
