"""Build the surface dev sets as train/ and val/ folders in the images/ + masks/ layout.

- hazelnut: every hazelnut_toy image (good ones with an empty mask, colour ones with
  theirs), a seeded 40 % of each kind held back (the set is small);
- crackforest: crackforest_seg (every image has a crack), a seeded 20 % held back;
- bsdata: bsdata_pitting's pitted test images with their masks and as many good images,
  a seeded 20 % of each kind held back.

Run: python bench/surface/sets.py [--shared ../shared/datasets] [--out bench/out/surface]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np

from inspekt.evaluation.segmentation import load_segmentation_set


def write_split(samples: list[tuple[Path, np.ndarray]], out: Path, held_back: float) -> None:
    """Link the images and write class-index masks, part of each kind into val/."""
    rng = np.random.default_rng(0)
    kinds = [bool(mask.any()) for _, mask in samples]
    for kind in (False, True):
        members = [i for i, k in enumerate(kinds) if k == kind]
        order = rng.permutation(len(members))
        held = round(len(members) * held_back)
        for rank, index in enumerate(order):
            image, mask = samples[members[index]]
            part = out / ("val" if rank < held else "train")
            (part / "images").mkdir(parents=True, exist_ok=True)
            (part / "masks").mkdir(parents=True, exist_ok=True)
            name = f"{image.parent.name}-{image.stem}"
            target = part / "images" / f"{name}{image.suffix}"
            if not target.exists():
                os.symlink(image.resolve(), target)
            cv2.imwrite(str(part / "masks" / f"{name}.png"), mask)


def from_dataset(root: Path, good_limit: int | None = None) -> list[tuple[Path, np.ndarray]]:
    data = load_segmentation_set(root)
    samples = []
    good = 0
    for sample in data.samples:
        if sample.mask is None:
            good += 1
            if good_limit is not None and good > good_limit:
                continue
        shape = cv2.imread(str(sample.image), cv2.IMREAD_GRAYSCALE).shape
        samples.append((sample.image, sample.read_mask(shape, len(data.classes))))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--out", type=Path, default=Path("bench/out/surface"))
    args = parser.parse_args()
    write_split(from_dataset(args.shared / "hazelnut_toy"), args.out / "hazelnut", 0.4)
    write_split(from_dataset(args.shared / "crackforest_seg"), args.out / "crackforest", 0.2)
    pitted = from_dataset(args.shared / "bsdata_pitting", good_limit=107)
    write_split(pitted, args.out / "bsdata", 0.2)
    for folder in sorted(args.out.glob("*/*")):
        print(folder.relative_to(args.out), len(list((folder / "images").iterdir())))


if __name__ == "__main__":
    main()
