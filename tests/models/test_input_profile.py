"""InputProfile: learnt from training images, saved as JSON, and each check's message."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pydantic
import pytest

from inspekt.errors import ModelFileError, TrainingError
from inspekt.models.input_profile import (
    MAX_STAT_PIXELS,
    InputChecks,
    InputProfile,
    check_input,
    input_stats,
)

HAZELNUT = Path(__file__).parents[1] / "data" / "hazelnut"

Image = npt.NDArray[np.uint8]


def read(path: Path) -> Image:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return image


@pytest.fixture(scope="module")
def train() -> list[Image]:
    return [read(p) for p in sorted((HAZELNUT / "train" / "good").glob("*.jpg"))]


@pytest.fixture(scope="module")
def profile(train: list[Image]) -> InputProfile:
    return InputProfile.learn(train)


def good() -> Image:
    return read(sorted((HAZELNUT / "test" / "good").glob("*.jpg"))[0])


def noisy(level: int, spread: int, shape: tuple[int, ...] = (512, 512, 3)) -> Image:
    """A frame of one gray level with a little sensor noise (so it is not exactly uniform)."""
    rng = np.random.default_rng(0)
    return np.clip(level + rng.integers(-spread, spread + 1, shape), 0, 255).astype(np.uint8)


def only(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


# ---- learning and storing ----------------------------------------------------------------


def test_learns_the_ranges_of_the_training_images(profile: InputProfile) -> None:
    assert profile.images == 6
    assert profile.height == (512, 512) and profile.width == (512, 512)
    assert profile.aspect == (1.0, 1.0)
    assert 150 < profile.brightness[0] <= profile.brightness[1] < 200
    assert 10 < profile.contrast[0] <= profile.contrast[1] < 40
    assert profile.colour and profile.channels == (3,) and profile.dtypes == ("uint8",)


def test_learns_a_range_over_different_images() -> None:
    images = [noisy(60, 20, (100, 200, 3)), noisy(120, 40, (300, 150))]
    learnt = InputProfile.learn(images)
    assert learnt.height == (100, 300) and learnt.width == (150, 200)
    assert learnt.aspect == (0.5, 2.0)
    assert learnt.brightness[0] == pytest.approx(60, abs=1)
    assert learnt.brightness[1] == pytest.approx(120, abs=1)
    assert learnt.channels == (1, 3) and not learnt.colour


def test_learning_needs_images() -> None:
    with pytest.raises(TrainingError, match="at least one"):
        InputProfile.learn([])
    with pytest.raises(TrainingError, match="empty"):
        InputProfile.learn([np.zeros((0, 5, 3), np.uint8)])


def test_json_round_trip(profile: InputProfile) -> None:
    document = profile.as_json()
    assert json.loads(json.dumps(document)) == document
    assert InputProfile.from_json(document) == profile
    assert InputProfile.from_json(json.dumps(document)) == profile


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"brightness": [200, 100]}, "brightness"),
        ({"height": [0, 10]}, "height"),
        ({"channels": []}, "channels"),
        ({"version": 2}, "version"),
        ({"surprise": 1}, "surprise"),
        ({"images": "many"}, "images"),
    ],
)
def test_an_invalid_profile_is_a_model_file_error_naming_the_file(
    profile: InputProfile, change: dict[str, object], field: str
) -> None:
    document = {**profile.as_json(), **change}
    with pytest.raises(ModelFileError) as raised:
        InputProfile.from_json(document, Path("/models/nut/model.json"))
    assert raised.value.message.startswith("/models/nut/model.json: invalid input profile")
    assert field in raised.value.message


def test_garbage_instead_of_a_profile_is_a_model_file_error() -> None:
    for document in ("{not json", [1, 2], None, 7):
        with pytest.raises(ModelFileError, match="model.json: invalid input profile"):
            InputProfile.from_json(document, "model.json")


def test_checks_are_frozen_and_strict() -> None:
    checks = InputChecks()
    with pytest.raises(pydantic.ValidationError):
        checks.size = False  # type: ignore[misc]
    for bad in ({"size_ratio": 1.0}, {"contrast_ratio": 0.5}, {"sizes": True}):
        with pytest.raises(pydantic.ValidationError):
            InputChecks.model_validate(bad)


# ---- what passes ---------------------------------------------------------------------------


def test_the_training_and_test_images_pass(profile: InputProfile, train: list[Image]) -> None:
    tests = [read(p) for p in sorted((HAZELNUT / "test").glob("*/*.jpg"))]
    assert len(tests) == 4
    for image in [*train, *tests]:
        assert profile.check(image) == []


def test_moderate_changes_pass(profile: InputProfile) -> None:
    image = good()
    assert profile.check(cv2.resize(image, (300, 300))) == []  # the model resizes anyway
    assert profile.check(cv2.resize(image, (1000, 800))) == []
    assert profile.check(cv2.convertScaleAbs(image, alpha=0.85)) == []  # lamp ageing
    assert profile.check(cv2.convertScaleAbs(image, alpha=1.0, beta=20)) == []
    assert profile.check(cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)) == []  # alpha is dropped


# ---- each refusal --------------------------------------------------------------------------


def test_a_tiny_image(profile: InputProfile) -> None:
    message = profile.check(good()[:1, :1])[0]
    assert message == (
        "image is 1x1 px; this model learnt from 512x512 to 512x512 (allowed 0.5x to 2x that size)"
    )


def test_a_huge_image(profile: InputProfile) -> None:
    message = only(profile.check(cv2.resize(good(), (4000, 3000))))
    assert message.startswith("image is 4000x3000 px; this model learnt from 512x512")
    assert profile.check(cv2.resize(good(), (4000, 3000)), InputChecks(size_ratio=8)) == []


def test_another_aspect(profile: InputProfile) -> None:
    message = only(profile.check(cv2.resize(good(), (1000, 300))))
    assert message == (
        "aspect ratio (width/height) 3.33 is far outside the training range 1.00–1.00 "
        "(allowed 0.67 to 1.50)"
    )


def test_a_uniform_frame(profile: InputProfile) -> None:
    for level in (0, 128, 255):
        message = only(profile.check(np.full((512, 512, 3), level, np.uint8)))
        assert message == (
            f"frame is uniform (gray std 0.0, brightness {level}): "
            "black, saturated or covered camera?"
        )


def test_a_nearly_black_frame(profile: InputProfile) -> None:
    message = only(profile.check(noisy(8, 6)))
    assert message.startswith("frame is nearly black (brightness 8, 99% of pixels at or below")


def test_a_nearly_saturated_frame(profile: InputProfile) -> None:
    message = only(profile.check(noisy(248, 6)))
    assert message.startswith("frame is nearly saturated (brightness 248, 99% of pixels at or ")


def test_a_much_darker_image(profile: InputProfile) -> None:
    low, high = profile.brightness
    message = only(profile.check(cv2.convertScaleAbs(good(), alpha=0.4)))
    assert message == (
        f"brightness 71 is far below the training range {low:.0f}–{high:.0f} "
        f"(allowed {low - 40:.0f}–{min(255, high + 40):.0f})"
    )


def test_a_much_brighter_image(profile: InputProfile) -> None:
    brighter = cv2.convertScaleAbs(good(), alpha=0.5, beta=160)  # washed out: bright, flat
    problems = profile.check(brighter)
    assert any(p.startswith("brightness") and "far above" in p for p in problems)


def test_a_flat_image(profile: InputProfile) -> None:
    image = good().astype(np.float32)
    flat = np.clip(image.mean() + (image - image.mean()) * 0.2, 0, 255).astype(np.uint8)
    low, high = profile.contrast
    assert only(profile.check(flat)) == (
        f"contrast (gray std) 3.9 is far below the training range {low:.1f}–{high:.1f} "
        f"(allowed {low / 4:.1f}–{high * 4:.1f})"
    )


def test_a_grayscale_frame_for_a_colour_model(profile: InputProfile) -> None:
    gray = cv2.cvtColor(good(), cv2.COLOR_BGR2GRAY)
    assert only(profile.check(gray)).startswith(
        "grayscale image (1 channel); this model learnt from colour images"
    )
    as_bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    assert only(profile.check(as_bgr)).startswith(
        "grayscale image (colourfulness 0.0); this model learnt from colour images"
    )


def test_a_grayscale_model_accepts_colour() -> None:
    gray_model = InputProfile.learn([cv2.cvtColor(good(), cv2.COLOR_BGR2GRAY)])
    assert gray_model.channels == (1,) and not gray_model.colour
    assert gray_model.check(good()) == []


def test_channels_and_bit_depth(profile: InputProfile) -> None:
    assert only(profile.check(good()[:, :, :2])) == "2 channels; trained on 3"
    deep = good().astype(np.uint16) * 257
    assert only(profile.check(deep)) == "16-bit image (uint16); trained on 8-bit (uint8)"
    floats = good().astype(np.float32)
    assert only(profile.check(floats)) == "32-bit image (float32); trained on 8-bit (uint8)"


def test_not_an_image_at_all(profile: InputProfile) -> None:
    assert only(profile.check(np.zeros(5, np.uint8))).startswith("expected an (H, W)")
    assert only(check_input(np.zeros((0, 0, 3), np.uint8), None)) == (
        "image is 0x0 px: nothing to inspect"
    )


def test_several_problems_are_all_named(profile: InputProfile) -> None:
    problems = profile.check(np.zeros((1, 1), np.uint16))
    assert [p.split()[0] for p in problems] == ["16-bit", "image", "frame"]


# ---- switches and tolerances ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "relaxed"),
    [
        (cv2.resize(good(), (4000, 3000)), {"size": False}),
        (cv2.resize(good(), (1000, 300)), {"aspect": False}),
        (cv2.convertScaleAbs(good(), alpha=0.4), {"lighting": False}),
        (cv2.convertScaleAbs(good(), alpha=0.4), {"brightness_margin": 120}),
        (cv2.cvtColor(good(), cv2.COLOR_BGR2GRAY), {"format": False}),
        (np.full((512, 512, 3), 180, np.uint8), {"degenerate": False, "lighting": False}),
        (noisy(8, 6), {"degenerate": False, "lighting": False}),
    ],
    ids=["size", "aspect", "lighting", "brightness_margin", "format", "uniform", "black"],
)
def test_each_check_can_be_relaxed(
    profile: InputProfile, image: Image, relaxed: dict[str, object]
) -> None:
    assert profile.check(image) != []
    assert profile.check(image, InputChecks.model_validate(relaxed)) == []


def test_relaxing_degenerate_alone_leaves_the_lighting_check(profile: InputProfile) -> None:
    problems = profile.check(np.zeros((512, 512, 3), np.uint8), InputChecks(degenerate=False))
    assert [p.split(" is ")[0] for p in problems] == ["brightness 0", "contrast (gray std) 0.0"]


def test_without_a_profile_only_degenerate_frames_are_refused() -> None:
    assert check_input(cv2.resize(good(), (4000, 3000)), None) == []
    assert check_input(cv2.convertScaleAbs(good(), alpha=0.4), None) == []
    assert check_input(good()[:, :, :2], None) == []
    assert only(check_input(np.zeros((480, 640, 3), np.uint8), None)).startswith(
        "frame is uniform"
    )
    assert only(check_input(noisy(248, 6), None)).startswith("frame is nearly saturated")
    assert check_input(np.zeros((480, 640, 3), np.uint8), None, InputChecks(degenerate=False)) == []


def test_frames_like_the_training_images_are_never_degenerate() -> None:
    """A model that learnt from nearly white boards (DeepPCB has some) accepts them."""
    white = noisy(250, 5)
    bright_model = InputProfile.learn([white, noisy(120, 60)])
    assert check_input(white, None) != []
    assert bright_model.check(white) == []


def test_statistics_of_a_large_frame_come_from_a_subsample() -> None:
    image = cv2.resize(good(), (4000, 3000))
    stats, full = input_stats(image), input_stats(good())
    assert (stats.width, stats.height, stats.channels, stats.dtype) == (4000, 3000, 3, "uint8")
    assert stats.brightness == pytest.approx(full.brightness, abs=1.0)
    assert stats.contrast == pytest.approx(full.contrast, rel=0.05)
    assert MAX_STAT_PIXELS < 4000 * 3000
