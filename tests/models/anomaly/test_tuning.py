"""Self-tuning: candidates from the data, chosen by painted defects on held-back images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from inspekt.errors import TrainingError
from inspekt.imaging.io import ImageFiles, list_images
from inspekt.models.anomaly import AnomalyConfig, AnomalyModel
from inspekt.models.anomaly._model import resolve_input_size
from inspekt.models.anomaly._tuning import MIN_IMAGES_TO_TUNE, candidate_configs, choose_config

from .conftest import TINY

DEMO_GOOD = Path(__file__).parents[3] / "demo" / "images" / "good"


def test_candidates_are_two_sizes_times_fine_or_coarse_taps() -> None:
    candidates = candidate_configs(AnomalyConfig(input_size=640))
    assert {(c.input_size, c.feature_strides) for c in candidates} == {
        (640, (4, 8)), (640, (8, 16)), (320, (4, 8)), (320, (8, 16)),
    }
    small = candidate_configs(AnomalyConfig(input_size=128))
    assert {c.input_size for c in small} == {128}
    assert all(c.tuning == "off" and c.bank_size <= 2_500 for c in candidates)


def test_settings_the_user_chose_are_not_tuned() -> None:
    config = AnomalyConfig(input_size=640, feature_strides=(4, 8))
    assert len(candidate_configs(config, fixed={"input_size"})) == 2
    assert {c.input_size for c in candidate_configs(config, fixed={"feature_strides"})} == {
        640, 320,
    }
    both = candidate_configs(config, fixed={"input_size", "feature_strides"})
    assert [(c.input_size, c.feature_strides) for c in both] == [(640, (4, 8))]


def test_nothing_is_fitted_when_the_user_chose_everything(
    good_train: list[npt.NDArray[np.uint8]],
) -> None:
    many = good_train * 3
    config = AnomalyConfig(input_size=160, feature_strides=(4, 8), bank_size=600)

    def never(images: object, candidate: object) -> AnomalyModel:
        raise AssertionError("a candidate was fitted")

    chosen, scores = choose_config(
        many, config, never, np.random.default_rng(0), fixed={"input_size", "feature_strides"}
    )
    assert chosen == config and scores == []
    with pytest.raises(TrainingError, match="input_size"):
        candidate_configs(AnomalyConfig())


def test_too_few_images_keep_the_configuration(good_train: list[npt.NDArray[np.uint8]]) -> None:
    assert len(good_train) < MIN_IMAGES_TO_TUNE
    chosen, scores = choose_config(good_train, TINY, AnomalyModel.fit, np.random.default_rng(0))
    assert chosen == TINY and scores == []


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((150, 200, 3), 224), ((512, 512, 3), 512), ((3000, 4000, 3), 640), ((40, 30), 64)],
)
def test_input_size_follows_the_images_and_never_enlarges_them(
    shape: tuple[int, ...], expected: int
) -> None:
    images = [np.zeros(shape, np.uint8)] * 3
    resolved = resolve_input_size(AnomalyConfig(), images, np.random.default_rng(0))
    assert resolved.input_size == expected
    fixed = AnomalyConfig(input_size=320)
    assert resolve_input_size(fixed, images, np.random.default_rng(0)) is fixed


def test_fit_tunes_on_painted_defects_and_records_every_candidate() -> None:
    small = ImageFiles(list_images(DEMO_GOOD)[:16], lambda image: cv2.resize(image, (160, 160)))
    # The size is set, so only the taps are tuned: two candidates keep the test short.
    config = AnomalyConfig(input_size=128, bank_size=600, tuning="synthetic")

    model = AnomalyModel.fit(small, config)

    tried = model.training["tuning"]
    assert [t["input_size"] for t in tried] == [128, 128]
    best = max(tried, key=lambda t: t["image_auroc"] + t["pixel_auroc"])
    assert (model.config.input_size, list(model.config.feature_strides)) == (
        best["input_size"], best["feature_strides"],
    )
    assert best["pixel_auroc"] > 0.7  # painted defects are found, not guessed


def test_candidates_of_both_sizes_share_one_exported_backbone() -> None:
    from inspekt.models.anomaly._model import _export_backbone

    large, _, small, _ = candidate_configs(AnomalyConfig(input_size=320))
    assert large.input_size != small.input_size
    assert _export_backbone(large) is _export_backbone(small)
