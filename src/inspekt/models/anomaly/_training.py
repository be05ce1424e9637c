"""One streaming pass over the good images: what fit keeps of them, in bounded memory.

Training sets grow to thousands of images; holding them, or all their patch features,
would need gigabytes. The pass reads each image once, in a seeded random order, and
keeps only:

- the PCA, fitted on the first :data:`PCA_IMAGES` images of that order (a random
  sample of the whole set, not its first folder entries — names often follow time,
  and a set's first hour is not its whole day);
- an even share of every image's projected patches as coreset candidates, and of
  ``variants`` relit, slightly turned copies of it (see :func:`vary`);
- the projected features of at most :data:`CALIBRATION_IMAGES` images, which are
  scored leave-one-image-out to set the threshold;
- each image's input statistics and checksum.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import NamedTuple, cast

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from ...types import Image, Progress
from ..input_profile import InputStats, input_stats
from ._config import AnomalyConfig
from ._memory import Features, fit_projection, project
from ._runtime import patch_features

#: Images whose patches fit the PCA (their features are held until it is fitted).
PCA_IMAGES = 32
#: Most good images scored leave-one-out for the threshold; a quantile over this many
#: is stable, and their features are what fit holds in memory.
CALIBRATION_IMAGES = 300
#: Relit copies: gray levels shifted by up to this much and spread by up to this factor.
RELIGHT_SHIFT = 40.0
RELIGHT_SPREAD = 1.3


class TrainingFeatures(NamedTuple):
    """What the pass over the good images keeps."""

    projection: Features
    #: Coreset candidates (N, k) and the index of the image each came from.
    candidates: Features
    owners: npt.NDArray[np.int64]
    #: Image index → projected (rows, cols, k) features, for leave-one-out calibration.
    calibration: dict[int, Features]
    stats: list[InputStats]
    #: sha256 over the images' own checksums in their given order.
    digest: str


def collect_training_features(
    session: ort.InferenceSession,
    images: Sequence[Image],
    config: AnomalyConfig,
    rng: np.random.Generator,
    report: Progress,
) -> TrainingFeatures:
    """Read every good image once; keep the projection, candidates and calibration features."""
    count = len(images)
    order = rng.permutation(count)
    calibrated = set(order[:CALIBRATION_IMAGES].tolist())
    per_image = math.ceil(config.coreset_candidates / count)
    pending: list[tuple[int, Features, bool]] = []
    projection: Features | None = None
    candidates: list[Features] = []
    owners: list[npt.NDArray[np.int64]] = []
    calibration: dict[int, Features] = {}
    stats: list[InputStats | None] = [None] * count
    checksums = [b""] * count

    def keep(index: int, features: Features, relit: bool) -> None:
        if index in calibrated and not relit:
            calibration[index] = features
        flat = features.reshape(-1, features.shape[-1])
        if len(flat) > per_image:
            flat = flat[np.sort(rng.choice(len(flat), per_image, replace=False))]
        candidates.append(np.ascontiguousarray(flat))
        owners.append(np.full(len(flat), index, dtype=np.int64))

    for done, index in enumerate(order.tolist(), 1):
        image = images[index]
        stats[index] = input_stats(image)
        checksums[index] = _checksum(image)
        views = [image] + [
            vary(image, rng, config.variant_turn, config.variant_shift)
            for _ in range(config.variants)
        ]
        for view, raw in enumerate(patch_features(session, seen, config) for seen in views):
            if projection is None:
                pending.append((index, raw, view > 0))
            else:
                keep(index, project(raw, projection), view > 0)
        if projection is None and done == min(PCA_IMAGES, count):
            projection = fit_projection([f for _, f, _ in pending], config.feature_dim, rng)
            for held, features, relit in pending:
                keep(held, project(features, projection), relit)
            pending.clear()
        report(done, count, "features")
    assert projection is not None  # the PCA is fitted once min(PCA_IMAGES, count) arrived
    return TrainingFeatures(
        projection=projection,
        candidates=np.concatenate(candidates),
        owners=np.concatenate(owners),
        calibration=calibration,
        stats=[s for s in stats if s is not None],
        digest=hashlib.sha256(b"".join(checksums)).hexdigest(),
    )


def vary(image: Image, rng: np.random.Generator, max_turn: float, max_shift: float) -> Image:
    """The image under other lighting, turned by up to ``max_turn`` degrees and reframed.

    Lighting normalisation undoes a shift or spread of the gray levels by itself; what
    it cannot undo is the clipping — highlights burnt to white, shadows crushed to
    black — which these copies teach the memory bank as normal. Likewise a part placed
    a few degrees off shows its edges and prints at angles no good image had, and a
    part framed a little differently puts other content at the frame's edge (where the
    mirrored margin reflects it): with a fixed camera every good image had the same
    edges, so without reframed copies any shift reads as a defect along the border.
    The copy is cropped to where the camera saw the part (no filled-in corners), then
    by up to ``max_shift`` of its size on each side.
    """
    shift = rng.uniform(-RELIGHT_SHIFT, RELIGHT_SHIFT)
    spread = rng.uniform(1 / RELIGHT_SPREAD, RELIGHT_SPREAD)
    mean = float(image.mean())
    relit: npt.NDArray[np.float32] = image.astype(np.float32) - np.float32(mean)
    relit *= np.float32(spread)
    relit += np.float32(mean + shift)
    varied = np.clip(relit, 0, 255).astype(np.uint8)
    if max_turn > 0:
        varied = turned_view(varied, rng.uniform(-max_turn, max_turn))
    if max_shift > 0:
        rows, cols = varied.shape[:2]
        cut = rng.uniform(0, max_shift, size=4)
        varied = varied[
            round(rows * cut[0]) : rows - round(rows * cut[1]),
            round(cols * cut[2]) : cols - round(cols * cut[3]),
        ]
    return varied


def turned_view(image: Image, degrees: float, interpolation: int = cv2.INTER_LINEAR) -> Image:
    """``image`` turned about its centre, cropped to where the camera saw the part.

    The crop is the largest centred rectangle of the same aspect with no corner filled
    in by the rotation: a turned part shows more or less of its surroundings, never a
    black wedge. ``interpolation`` is ``cv2.INTER_NEAREST`` for masks.
    """
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    turned = cast(Image, cv2.warpAffine(image, matrix, (width, height), flags=interpolation))
    angle = np.radians(abs(degrees))
    keep = 1 / (np.cos(angle) + np.sin(angle) * max(width / height, height / width))
    rows, cols = max(1, round(height * keep)), max(1, round(width * keep))
    top, left = (height - rows) // 2, (width - cols) // 2
    return turned[top : top + rows, left : left + cols]


def _checksum(image: Image) -> bytes:
    digest = hashlib.sha256(str(image.shape).encode())
    digest.update(np.ascontiguousarray(image).tobytes())
    return digest.digest()
