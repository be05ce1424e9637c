"""A second kind of data: a brushed-steel texture, no object, defects of a few pixels.

The hazelnut tests cover an object on a background; this covers a surface where every
patch is texture and the defects (pits, scratches) are small, as on machined parts.
"""

from __future__ import annotations

import numpy as np
import pytest

from inspekt.evaluation import auroc
from inspekt.models.anomaly import AnomalyModel
from tests.surfaces import Image, brushed_steel, with_defect

from .conftest import TINY


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
