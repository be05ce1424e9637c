"""The MVTec-layout loader on the sample in tests/data and on a generated folder."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inspekt.errors import DatasetError
from inspekt.evaluation import load_mvtec, read_image

HAZELNUT = Path(__file__).parents[1] / "data" / "hazelnut"


def test_loads_the_hazelnut_sample() -> None:
    dataset = load_mvtec(HAZELNUT)
    assert len(dataset.train) >= 5
    assert {s.defect_type for s in dataset.test} == {"good", "colour"}
    assert dataset.has_masks
    for sample in dataset.test:
        image = read_image(sample.path)
        mask = sample.mask(image.shape[:2])
        assert mask.shape == image.shape[:2]
        assert set(np.unique(mask)) <= {0, 1}
        assert (mask.any()) == (sample.label == 1)


def test_defects_without_masks_and_grayscale_reading(tmp_path: Path) -> None:
    image = np.full((20, 30, 3), 128, dtype=np.uint8)
    for folder in ("train/good", "test/good", "test/scratch"):
        (tmp_path / folder).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / folder / "a.png"), image)
    (tmp_path / "train/good/notes.txt").write_text("not an image")
    dataset = load_mvtec(tmp_path)
    assert [p.name for p in dataset.train] == ["a.png"]
    assert [(s.label, s.defect_type, s.mask_path) for s in dataset.test] == [
        (0, "good", None),
        (1, "scratch", None),
    ]
    assert not dataset.has_masks
    assert read_image(dataset.train[0], grayscale=True).shape == (20, 30)


def test_missing_folders_and_undecodable_files_raise(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no images"):
        load_mvtec(tmp_path)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="cannot be decoded"):
        read_image(broken)
