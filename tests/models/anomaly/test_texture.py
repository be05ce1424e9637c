"""A second kind of data: a brushed-steel texture, no object, defects of a few pixels.

The hazelnut tests cover an object on a background; this covers a surface where every
patch is texture and the defects (pits, scratches) are small, as on machined parts.
The surface is generated: each good image is a new random surface under a different
light gradient, so the model must learn the texture, not one picture of it.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from inspekt.evaluation import auroc
from inspekt.models.anomaly import AnomalyModel

from .conftest import TINY

Image = npt.NDArray[np.uint8]
SIDE = 160


def brushed_steel(rng: np.random.Generator) -> Image:
    """Horizontal grinding streaks, fine grain and a random light gradient, 8-bit gray."""
    streaks = cv2.GaussianBlur(rng.standard_normal((SIDE, SIDE)), (0, 0), sigmaX=10, sigmaY=0.8)
    streaks *= 18 / streaks.std()
    grain = rng.normal(0, 4, (SIDE, SIDE))
    ys, xs = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    light = rng.uniform(-12, 12) * xs + rng.uniform(-12, 12) * ys
    return np.clip(128 + streaks + grain + light, 0, 255).astype(np.uint8)


def with_defect(image: Image, rng: np.random.Generator, kind: str) -> Image:
    damaged = image.copy()
    centre = (int(rng.integers(30, SIDE - 30)), int(rng.integers(30, SIDE - 30)))
    if kind == "pit":
        cv2.ellipse(damaged, centre, (5, 4), float(rng.uniform(0, 180)), 0, 360, 55, -1)
    else:  # a scratch across the grinding direction
        end = (centre[0] + int(rng.integers(-8, 8)), centre[1] + 28)
        cv2.line(damaged, centre, end, 215, 2, cv2.LINE_AA)
    return damaged


@pytest.fixture(scope="module")
def surfaces() -> tuple[list[Image], list[Image], list[Image]]:
    rng = np.random.default_rng(2026)
    train = [brushed_steel(rng) for _ in range(12)]
    good = [brushed_steel(rng) for _ in range(6)]
    defects = [with_defect(brushed_steel(rng), rng, kind) for kind in ("pit", "scratch") * 3]
    return train, good, defects


def test_pits_and_scratches_on_a_texture_score_above_new_good_surfaces(
    surfaces: tuple[list[Image], list[Image], list[Image]],
) -> None:
    train, good, defects = surfaces
    model = AnomalyModel.fit(train, TINY)
    scores = [model.predict(image).score for image in [*good, *defects]]
    assert auroc([0] * len(good) + [1] * len(defects), scores) >= 0.95
    assert sum(score >= model.threshold for score in scores[len(good):]) >= 5
