"""Painted defects: where the mask says, nowhere else, the same for the same seed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from inspekt.models.synthetic_defects import DEFECT_KINDS, DefectKind, paint_defect

GOOD = Path(__file__).parents[1] / "data" / "hazelnut" / "train" / "good"


@pytest.fixture(scope="module")
def good() -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(sorted(GOOD.glob("*.jpg"))[0]), cv2.IMREAD_COLOR)
    assert image is not None
    return image


@pytest.mark.parametrize("kind", DEFECT_KINDS)
def test_a_defect_changes_the_image_where_its_mask_is(
    good: npt.NDArray[np.uint8], kind: DefectKind
) -> None:
    defect = paint_defect(good, np.random.default_rng(3), kind)

    inside = defect.mask > 0
    changed = np.abs(defect.image.astype(np.int16) - good).max(axis=2) > 0
    assert defect.kind == kind and defect.image.shape == good.shape
    assert 0 < inside.mean() < 0.05  # small, like real defects
    assert changed[inside].mean() > 0.5
    near = cv2.dilate(defect.mask, np.ones((25, 25), np.uint8)) > 0
    assert not (changed & ~near).any()  # the rest of the part is untouched


def test_the_same_seed_paints_the_same_defect(good: npt.NDArray[np.uint8]) -> None:
    first = paint_defect(good, np.random.default_rng(7))
    second = paint_defect(good, np.random.default_rng(7))
    assert first.kind == second.kind
    assert np.array_equal(first.image, second.image) and np.array_equal(first.mask, second.mask)


@pytest.mark.parametrize("shape", [(40, 30), (460, 1130), (64, 64, 3)])
@pytest.mark.parametrize("kind", DEFECT_KINDS)
def test_gray_small_and_wide_images(shape: tuple[int, ...], kind: DefectKind) -> None:
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 255, shape, dtype=np.uint8), (0, 0), 2)
    defect = paint_defect(image, rng, kind)
    assert defect.image.shape == image.shape and defect.image.dtype == np.uint8
    assert defect.mask.shape == shape[:2] and defect.mask.any()
