"""AnomalyModel end to end on real images: scale, accuracy floor, localisation, inputs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from inspekt.errors import ImageError, TrainingError
from inspekt.evaluation import auroc
from inspekt.models.anomaly import AnomalyConfig, AnomalyModel, AnomalyPrediction

from .conftest import TINY

Images = list[npt.NDArray[np.uint8]]


def test_prediction_is_on_the_normalised_scale(model: AnomalyModel, good_test: Images) -> None:
    prediction = model.predict(good_test[0])
    assert isinstance(prediction, AnomalyPrediction)
    assert prediction.anomaly_map.dtype == np.float32
    assert prediction.anomaly_map.shape == good_test[0].shape[:2]
    assert model.threshold == 0.5
    assert prediction.anomaly_map.min() >= 0.0
    # The score is the map's maximum, so verdict and defect regions agree.
    assert prediction.score == pytest.approx(float(prediction.anomaly_map.max()), rel=1e-4)


def test_defects_score_higher_than_good(
    model: AnomalyModel, good_test: Images, defect_test: Images
) -> None:
    scores = [model.predict(image).score for image in [*good_test, *defect_test]]
    labels = [0] * len(good_test) + [1] * len(defect_test)
    assert auroc(labels, scores) >= 0.99
    assert all(score < model.threshold for score in scores[: len(good_test)])


def paint_blob(image: npt.NDArray[np.uint8], centre: tuple[int, int], radius: int) -> None:
    cv2.circle(image, centre, radius, (40, 200, 40), thickness=-1)


def test_painted_blob_raises_the_score_and_is_located(
    model: AnomalyModel, good_test: Images
) -> None:
    clean = good_test[0]
    painted = clean.copy()
    centre, radius = (300, 220), 40
    paint_blob(painted, centre, radius)

    before, after = model.predict(clean), model.predict(painted)

    assert after.score > before.score
    assert after.score >= model.threshold
    peak_y, peak_x = np.unravel_index(np.argmax(after.anomaly_map), after.anomaly_map.shape)
    region = np.zeros(clean.shape[:2], dtype=np.uint8)
    cv2.circle(region, centre, radius, 1, thickness=-1)
    assert region[peak_y, peak_x] == 1


def test_any_size_aspect_and_channel_layout(model: AnomalyModel, good_test: Images) -> None:
    wide = cv2.resize(good_test[0], (301, 97))
    gray = cv2.cvtColor(good_test[0], cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(good_test[0], cv2.COLOR_BGR2BGRA)
    for image in (wide, gray, gray[:, :, np.newaxis], bgra):
        prediction = model.predict(image)
        assert prediction.anomaly_map.shape == image.shape[:2]
        assert np.isfinite(prediction.score)
    assert model.predict(gray).score == pytest.approx(model.predict(gray[:, :, None]).score)


def test_rejects_images_without_a_channel_layout(model: AnomalyModel) -> None:
    with pytest.raises(ImageError, match="image"):
        model.predict(np.zeros((8, 8, 2), dtype=np.uint8))


def test_defect_images_move_the_threshold_between_good_and_defect(
    good_train: Images, good_test: Images, defect_test: Images
) -> None:
    model = AnomalyModel.fit(good_train, TINY, defect_images=defect_test)
    good = [model.predict(image).score for image in good_test]
    defect = [model.predict(image).score for image in defect_test]
    assert max(good) < model.threshold <= min(defect)
    assert model.training["defect_images"] == len(defect_test)


def test_progress_reports_every_stage(good_train: Images) -> None:
    seen: list[tuple[int, int, str]] = []
    AnomalyModel.fit(
        good_train[:3],
        TINY.model_copy(update={"bank_size": 100}),
        progress=lambda *a: seen.append(a),
    )
    stages = [stage for _, _, stage in seen]
    assert stages[0] == "export"
    assert {"export", "features", "calibration"} <= set(stages)
    assert all(0 <= done <= total for done, total, _ in seen)


def test_single_image_fit_works(good_train: Images) -> None:
    model = AnomalyModel.fit(good_train[:1], TINY.model_copy(update={"bank_size": 100}))
    assert np.isfinite(model.predict(good_train[0]).score)


def test_fit_needs_images() -> None:
    with pytest.raises(TrainingError, match="at least one"):
        AnomalyModel.fit([], AnomalyConfig())


def test_serving_does_not_import_torch(saved_model: Path) -> None:
    script = (
        "import sys, numpy as np\n"
        "from inspekt.models.anomaly import AnomalyModel\n"
        f"model = AnomalyModel.load({str(saved_model)!r})\n"
        "model.predict(np.zeros((64, 80, 3), np.uint8))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


class CountingReads(Sequence[npt.NDArray[np.uint8]]):
    """Images that count how often each is read, as a lazy file sequence would be."""

    def __init__(self, images: Images) -> None:
        self.images = images
        self.reads = [0] * len(images)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> npt.NDArray[np.uint8]:  # type: ignore[override]
        self.reads[index] += 1
        return self.images[index]


def test_fit_streams_each_image_once(good_train: Images) -> None:
    images = CountingReads(good_train)
    model = AnomalyModel.fit(images, TINY)
    assert images.reads == [1] * len(good_train)
    assert model.training["good_images"] == len(good_train)


def relit(image: npt.NDArray[np.uint8], shift: float, spread: float) -> npt.NDArray[np.uint8]:
    mean = float(image.mean())
    return np.clip((image.astype(np.float32) - mean) * spread + mean + shift, 0, 255).astype(
        np.uint8
    )


def test_lighting_changes_do_not_make_a_good_part_look_defective(
    model: AnomalyModel, good_train: Images, good_test: Images
) -> None:
    # Within the relit copies' range (±40 levels, ×0.77–1.3): further out, clipping erases detail.
    changes = [(-35.0, 1.0), (40.0, 1.0), (0.0, 1.3), (20.0, 1.25)]
    as_is = AnomalyModel.fit(
        good_train, TINY.model_copy(update={"lighting": "as-is", "variants": 0})
    )

    def worst_drift(fitted: AnomalyModel) -> float:
        """Largest rise of a good image's score under any of the lighting changes."""
        return max(
            fitted.predict(relit(image, *change)).score - fitted.predict(image).score
            for image in good_test
            for change in changes
        )

    assert model.config.lighting == "normalised"
    for image in good_test:
        assert all(model.predict(relit(image, *c)).score < model.threshold for c in changes)
    assert worst_drift(model) < 0.7 * worst_drift(as_is)


def test_a_turned_variant_keeps_only_what_the_camera_saw(good_test: Images) -> None:
    from inspekt.models.anomaly._training import vary

    image = good_test[0]
    turned = vary(image, np.random.default_rng(0), max_turn=8.0, max_shift=0.0)
    assert turned.shape[0] < image.shape[0] and turned.shape[2] == 3
    corners = [turned[0, 0], turned[0, -1], turned[-1, 0], turned[-1, -1]]
    assert all(corner.any() for corner in corners)  # no black fill from the rotation
    assert vary(image, np.random.default_rng(0), 0.0, 0.0).shape == image.shape
    reframed = vary(image, np.random.default_rng(0), 0.0, max_shift=0.1)
    assert 0.8 * image.shape[0] <= reframed.shape[0] < image.shape[0]
