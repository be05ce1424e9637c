"""DetectorModel on generated surfaces: boxes plates and pits, saves, loads, refuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspekt.errors import TrainingError
from inspekt.evaluation.detection import DetectionEvaluation
from inspekt.models.detector import DetectorConfig, DetectorModel
from tests.surfaces import surfaces_with_boxes

#: Short, at the surfaces' own size: trains in about two minutes on two cores. At 70 epochs
#: the result hung on the CPU's float kernels (map50 0.28 on one machine, over 0.5 on another).
SMALL = DetectorConfig(input_size=160, crop_size=160, epochs=140, patience=50, batch_size=8)
CLASSES = ["plate", "pit"]


@pytest.fixture(scope="module")
def model() -> DetectorModel:
    return DetectorModel.fit(surfaces_with_boxes(np.random.default_rng(7), 32), CLASSES, SMALL)


def test_boxes_plates_and_pits_it_never_saw(model: DetectorModel) -> None:
    pairs = surfaces_with_boxes(np.random.default_rng(8), 16)
    found = [model.predict(image) for image, _ in pairs]
    result = DetectionEvaluation(
        tuple(CLASSES), 0.3, detections=found, truths=[list(b) for _, b in pairs], ms=[1.0]
    ).as_json()
    assert result["map50"] >= 0.5


def test_save_and_load_give_the_same_boxes(model: DetectorModel, tmp_path: Path) -> None:
    model.save(tmp_path)
    loaded = DetectorModel.load(tmp_path)
    image, _ = surfaces_with_boxes(np.random.default_rng(9), 1)[0]
    def rounded(boxes: list) -> list[tuple[int, float, float, float, float]]:
        return [(b.label, round(b.x0, 2), round(b.y0, 2), round(b.x1, 2), round(b.y1, 2))
                for b in boxes]

    assert rounded(loaded.predict(image)) == rounded(model.predict(image))


def test_refuses_images_without_boxes() -> None:
    pairs = [(image, []) for image, _ in surfaces_with_boxes(np.random.default_rng(10), 4)]
    with pytest.raises(TrainingError, match="no image has a box"):
        DetectorModel.fit(pairs, CLASSES, SMALL)
