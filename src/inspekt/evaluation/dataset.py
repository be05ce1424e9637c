"""Loader for datasets in the MVTec AD layout.

    <root>/train/good/*                       good training images
    <root>/test/good/*                        good test images
    <root>/test/<defect>/*                    defective test images
    <root>/ground_truth/<defect>/<stem>_mask.png   optional masks (nonzero = defect)

Images are listed, not decoded: a sample reads its image and mask on demand, so a
loader over hundreds of images costs nothing until used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import DatasetError
from ..imaging.io import list_images


def read_image(path: Path, grayscale: bool = False) -> npt.NDArray[np.uint8]:
    """Decode an image as BGR (or single-channel grayscale), raising on failure."""
    flag = cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR
    image = cv2.imread(str(path), flag)
    if image is None:
        raise DatasetError(f"{path}: cannot be decoded as an image")
    return cast(npt.NDArray[np.uint8], image)  # cv2's stubs do not say imread gives uint8


def read_mask(path: Path) -> npt.NDArray[np.uint8]:
    """A mask as 0/1 uint8."""
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise DatasetError(f"{path}: cannot be decoded as a mask")
    return (mask > 0).astype(np.uint8)


@dataclass(frozen=True)
class Sample:
    """One test image: its label (0 good, 1 defect), defect type and optional mask file."""

    path: Path
    label: int
    defect_type: str
    mask_path: Path | None

    def mask(self, shape: tuple[int, int]) -> npt.NDArray[np.uint8]:
        """The mask, or all zeros of ``shape`` for good images and defects without one."""
        if self.mask_path is None:
            return np.zeros(shape, dtype=np.uint8)
        return read_mask(self.mask_path)


@dataclass(frozen=True)
class ScoredSample:
    """A test sample with what a module made of it: its score, verdict and time."""

    sample: Sample
    score: float
    nok: bool
    ms: float


@dataclass(frozen=True)
class MvtecDataset:
    """Good training images and labelled test samples of one MVTec-layout folder."""

    root: Path
    train: tuple[Path, ...]
    test: tuple[Sample, ...]

    @property
    def has_masks(self) -> bool:
        return any(s.mask_path is not None for s in self.test if s.label == 1)


def _images(folder: Path) -> list[Path]:
    return list_images(folder) if folder.is_dir() else []


def load_mvtec(root: str | Path) -> MvtecDataset:
    """List a dataset; raises if there are no training images or no test images."""
    root = Path(root)
    train = _images(root / "train" / "good")
    if not train:
        raise DatasetError(f"{root / 'train' / 'good'}: no images")
    samples = []
    test_root = root / "test"
    folders = sorted(p for p in test_root.iterdir() if p.is_dir()) if test_root.is_dir() else []
    for folder in folders:
        label = 0 if folder.name == "good" else 1
        for path in _images(folder):
            mask = root / "ground_truth" / folder.name / f"{path.stem}_mask.png"
            samples.append(Sample(path, label, folder.name, mask if mask.is_file() else None))
    if not samples:
        raise DatasetError(f"{test_root}: no test images")
    return MvtecDataset(root, tuple(train), tuple(samples))
