"""Build the classifier dev sets as train/ and val/ folders of DIR/<class>/ images.

- neu_cls: its six classes, a seeded fifth of each held back;
- hazelnut: good (train/good + test/good) against colour (test/colour), a fifth held back;
- deeppcb_crops: one crop per labelled box of deeppcb_dev/detector (class = defect type),
  with context around the box; train crops from its train images, val from its val images.

Files are linked (or, for crops, written) under OUT/<set>/{train,val}/<class>/.
Run: python bench/classifier/sets.py [--shared ../shared/datasets] [--out bench/out/classifier]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}
#: Share of each class held back for validation; hazelnut's classes are small, so more
#: of them is held back to measure on more than a handful of images.
HELD_BACK, HELD_BACK_SMALL = 0.2, 0.4
#: A crop is the box grown by this factor (at least CROP_MIN pixels a side), so the
#: classifier sees the defect with the print around it, as a detector's box would give it.
CROP_GROWTH, CROP_MIN = 2.0, 48


def images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        os.symlink(source.resolve(), target)


def split_classes(classes: dict[str, list[Path]], out: Path, held_back: float = HELD_BACK) -> None:
    rng = np.random.default_rng(0)
    for name, paths in classes.items():
        order = rng.permutation(len(paths))
        held = max(1, round(len(paths) * held_back))
        for rank, index in enumerate(order):
            part = "val" if rank < held else "train"
            link(paths[index], out / part / name / f"{name}-{paths[index].name}")


def neu_cls(shared: Path, out: Path) -> None:
    root = shared / "neu_cls"
    classes = {d.name: images(d) for d in sorted(root.iterdir()) if d.is_dir()}
    split_classes(classes, out / "neu_cls")


def hazelnut(shared: Path, out: Path) -> None:
    root = shared / "hazelnut_toy"
    good = images(root / "train" / "good") + images(root / "test" / "good")
    colour = images(root / "test" / "colour")
    split_classes({"good": good, "colour": colour}, out / "hazelnut", HELD_BACK_SMALL)


def deeppcb_crops(shared: Path, out: Path) -> None:
    root = shared / "deeppcb_dev" / "detector"
    names = (root / "train" / "classes.txt").read_text().split()
    for part in ("train", "val"):
        for image_path in images(root / part / "images"):
            image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
            height, width = image.shape[:2]
            label_file = root / part / "labels" / f"{image_path.stem}.txt"
            for number, line in enumerate(label_file.read_text().splitlines()):
                if not line.strip():
                    continue
                cls, cx, cy, w, h = line.split()
                side = max(CROP_MIN, CROP_GROWTH * max(float(w) * width, float(h) * height))
                x0 = int(max(0, float(cx) * width - side / 2))
                y0 = int(max(0, float(cy) * height - side / 2))
                crop = image[y0 : int(y0 + side), x0 : int(x0 + side)]
                target = out / "deeppcb_crops" / part / names[int(cls)]
                target.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(target / f"{image_path.stem}-{number}.png"), crop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--out", type=Path, default=Path("bench/out/classifier"))
    args = parser.parse_args()
    for build in (neu_cls, hazelnut, deeppcb_crops):
        build(args.shared, args.out)
    for folder in sorted(args.out.glob("*/*")):
        counts = {d.name: len(list(d.iterdir())) for d in sorted(folder.iterdir())}
        print(folder.relative_to(args.out), counts)


if __name__ == "__main__":
    main()
