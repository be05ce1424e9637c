"""Synthetic defects painted on good images: a stand-in for defect images nobody has yet.

A model trained from good images only cannot be tuned on real defects, but it can be
tuned on how well it finds defects painted onto good images it did not train on. Three
kinds, after the self-supervised anomaly literature (CutPaste, Li et al. 2021; DRAEM's
Perlin-noise blemishes, Zavrtanik et al. 2021), cover the usual industrial defects:

- **patch** — a piece of the part moved elsewhere, rotated (foreign matter, misplaced
  print, a copied feature where none belongs);
- **blemish** — an irregular smooth-edged blob, darker or lighter (stains, pits, dents,
  discolouration);
- **scratch** — a thin curved stroke (scratches, cracks, broken tracks).

Each comes with its mask, so both "is the image flagged" and "is the map hot where the
defect is" can be measured. Sizes are relative to the image, so the same rules hold on
a 200-px crop and a 4000-px frame.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, cast

import cv2
import numpy as np
import numpy.typing as npt

from ..types import Image

__all__ = ["DEFECT_KINDS", "SyntheticDefect", "paint_defect"]

Mask = npt.NDArray[np.uint8]
DefectKind = Literal["patch", "blemish", "scratch"]

DEFECT_KINDS: tuple[DefectKind, ...] = ("patch", "blemish", "scratch")
#: Defect extent as a fraction of the image's shorter side: small, like most real ones.
SIZE_RANGE = (0.04, 0.12)
#: Random pieces considered for a pasted patch; the most different one is used.
PATCH_TRIES = 6
#: Gray levels a blemish moves the pixels it covers (either way), at its centre.
BLEMISH_SHIFT = (30.0, 70.0)


class SyntheticDefect(NamedTuple):
    """A good image with one painted defect, and the defect's mask (255 inside)."""

    image: Image
    mask: Mask
    kind: DefectKind


def paint_defect(
    image: Image, rng: np.random.Generator, kind: DefectKind | None = None
) -> SyntheticDefect:
    """Paint one defect of ``kind`` (random when None) at a random place on a copy of ``image``."""
    chosen: DefectKind = kind or DEFECT_KINDS[int(rng.integers(len(DEFECT_KINDS)))]
    height, width = image.shape[:2]
    extent = max(4, round(min(height, width) * rng.uniform(*SIZE_RANGE)))
    centre = (int(rng.integers(extent, max(extent + 1, width - extent))),
              int(rng.integers(extent, max(extent + 1, height - extent))))
    if chosen == "patch":
        painted, mask = _patch(image, centre, extent, rng)
    elif chosen == "blemish":
        painted, mask = _blemish(image, centre, extent, rng)
    else:
        painted, mask = _scratch(image, centre, extent, rng)
    return SyntheticDefect(painted, mask, chosen)


def _blob(shape: tuple[int, int], centre: tuple[int, int], extent: int,
          rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """An irregular soft blob in 0..1: smoothed noise inside a jittered ellipse."""
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    axes = extent / 2 * rng.uniform(0.5, 1.0, size=2)
    dx, dy = xs - centre[0], ys - centre[1]
    u = (dx * np.cos(angle) + dy * np.sin(angle)) / axes[0]
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) / axes[1]
    smoothed = cv2.GaussianBlur(
        rng.standard_normal(shape).astype(np.float32), (0, 0), extent / 6
    )
    noise = smoothed / max(float(np.abs(smoothed).max()), 1e-6)
    inside = np.clip(1.0 - (u * u + v * v) + 0.6 * noise, 0.0, 1.0)
    return cast(npt.NDArray[np.float32], cv2.GaussianBlur(inside, (0, 0), max(1.0, extent / 12)))


def _blemish(image: Image, centre: tuple[int, int], extent: int,
             rng: np.random.Generator) -> tuple[Image, Mask]:
    weight = _blob(image.shape[:2], centre, extent, rng)
    shift = rng.uniform(*BLEMISH_SHIFT) * (1 if rng.random() < 0.5 else -1)
    delta = weight * np.float32(shift)
    if image.ndim == 3:
        delta = delta[:, :, np.newaxis]
    painted = np.clip(image.astype(np.float32) + delta, 0, 255).astype(np.uint8)
    return painted, _mask(weight > 0.25)


def _patch(image: Image, centre: tuple[int, int], extent: int,
           rng: np.random.Generator) -> tuple[Image, Mask]:
    height, width = image.shape[:2]
    side = extent
    y0, x0 = max(0, centre[1] - side // 2), max(0, centre[0] - side // 2)
    y1, x1 = min(height, y0 + side), min(width, x0 + side)
    target = image[y0:y1, x0:x1].astype(np.float32)
    best, best_change = image[y0:y1, x0:x1], -1.0
    # A piece of plain background pasted onto plain background is no defect at all:
    # of a few random pieces, take the one that changes the place most.
    for _ in range(PATCH_TRIES):
        top = int(rng.integers(0, max(1, height - side)))
        left = int(rng.integers(0, max(1, width - side)))
        rotation = cv2.getRotationMatrix2D((side / 2, side / 2), rng.uniform(0, 360), 1.0)
        turned = cv2.warpAffine(
            image[top:top + side, left:left + side], rotation, (side, side),
            borderMode=cv2.BORDER_REFLECT,
        )
        piece = cast(Image, turned)[: y1 - y0, : x1 - x0]
        change = float(np.abs(piece.astype(np.float32) - target).mean())
        if change > best_change:
            best, best_change = piece, change
    inside = _blob(image.shape[:2], centre, extent, rng) > 0.25
    inside[:y0], inside[y1:], inside[:, :x0], inside[:, x1:] = False, False, False, False
    painted = image.copy()
    region = painted[y0:y1, x0:x1]
    region[inside[y0:y1, x0:x1]] = best[inside[y0:y1, x0:x1]]
    return painted, _mask(inside)


def _scratch(image: Image, centre: tuple[int, int], extent: int,
             rng: np.random.Generator) -> tuple[Image, Mask]:
    steps = 8
    angle = rng.uniform(0, 2 * np.pi)
    bend = rng.uniform(-0.4, 0.4)
    points = []
    x, y = float(centre[0]), float(centre[1])
    for _ in range(steps):
        points.append((round(x), round(y)))
        angle += bend
        x += np.cos(angle) * extent / steps * 1.5
        y += np.sin(angle) * extent / steps * 1.5
    thickness = max(1, round(extent / 12))
    stroke = np.zeros(image.shape[:2], np.uint8)
    cv2.polylines(stroke, [np.array(points, np.int32)], False, 255, thickness, cv2.LINE_AA)
    level = float(image.mean())
    tone = 0.0 if level > 127 else 255.0
    alpha = stroke.astype(np.float32) / 255.0 * np.float32(rng.uniform(0.6, 0.9))
    if image.ndim == 3:
        alpha = alpha[:, :, np.newaxis]
    painted = (image * (1 - alpha) + tone * alpha).astype(np.uint8)
    return painted, _mask(stroke > 64)


def _mask(inside: npt.NDArray[np.bool_]) -> Mask:
    return inside.astype(np.uint8) * 255
