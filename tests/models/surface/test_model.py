"""SurfaceModel on generated steel surfaces: marks pits and scratches, saves, loads, refuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspekt.errors import ModelFileError, TrainingError
from inspekt.models.surface import SurfaceConfig, SurfaceModel
from tests.surfaces import surfaces_with_masks

#: Short, at the surfaces' own size (thin scratches vanish when shrunk): under a minute.
SMALL = SurfaceConfig(input_size=160, epochs=8, batch_size=4, patience=8, decoder_channels=32)


@pytest.fixture(scope="module")
def model() -> SurfaceModel:
    return SurfaceModel.fit(surfaces_with_masks(np.random.default_rng(7), 24), ["defect"], SMALL)


def iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    union = np.count_nonzero(predicted | truth)
    return np.count_nonzero(predicted & truth) / union if union else 1.0


def test_marks_pits_and_scratches_where_they_are(model: SurfaceModel) -> None:
    pairs = surfaces_with_masks(np.random.default_rng(8), 8)
    marked = [SurfaceModel.class_mask(model.predict(image)) > 0 for image, _ in pairs]
    truth = [mask > 0 for _, mask in pairs]
    overall = iou(np.stack(marked), np.stack(truth))
    assert overall >= 0.25
    found = [m.any() for m, t in zip(marked, truth, strict=True) if t.any()]
    assert sum(found) >= 0.8 * len(found)


def test_probabilities_are_per_pixel_at_the_image_size(model: SurfaceModel) -> None:
    image, _ = surfaces_with_masks(np.random.default_rng(9), 1)[0]
    wide = np.ascontiguousarray(image[:100, :])
    prediction = model.predict(wide)
    assert prediction.probabilities.shape == (100, 160, 1)
    assert 0.0 <= prediction.probabilities.min() <= prediction.probabilities.max() <= 1.0
    assert model.training["epochs"] and "validation_iou" in model.training


def test_save_and_load_give_the_same_map(model: SurfaceModel, tmp_path: Path) -> None:
    model.save(tmp_path)
    loaded = SurfaceModel.load(tmp_path)
    image, _ = surfaces_with_masks(np.random.default_rng(10), 1)[0]
    assert np.allclose(loaded.predict(image).probabilities, model.predict(image).probabilities)
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(ModelFileError, match="format_version"):
        SurfaceModel.load(tmp_path)


def test_refuses_masks_without_a_defect_and_too_few_images() -> None:
    blank = [(image, np.zeros_like(mask)) for image, mask in
             surfaces_with_masks(np.random.default_rng(11), 4)]
    with pytest.raises(TrainingError, match="no mask marks a defect"):
        SurfaceModel.fit(blank, ["defect"], SMALL)
    with pytest.raises(TrainingError, match="4 or more"):
        SurfaceModel.fit(blank[:2], ["defect"], SMALL)
