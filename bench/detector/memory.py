"""Peak memory of detector training on 1,000 images of 640² (the issue's bound: 2 GB).

A YOLO set of COUNT images is made of links to a smaller set's images, cycled, each
with its labels; one epoch is trained through the command line (memory does not grow
with epochs: the same batches repeat) and the largest resident set of the ``train``
and ``eval`` commands is reported.

    D=../shared/datasets/deeppcb_dev/detector
    python bench/detector/memory.py $D/train $D/val
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_project import emit, train_and_eval  # noqa: E402


def cycled(source: Path, count: int, target: Path) -> Path:
    """``count`` images linked from ``source`` (YOLO layout), with their labels."""
    images = sorted((source / "images").iterdir())
    (target / "images").mkdir(parents=True)
    (target / "labels").mkdir()
    for name in ("classes.txt", "data.yaml"):
        if (source / name).is_file():
            (target / name).symlink_to((source / name).resolve())
    for number in range(count):
        image = images[number % len(images)]
        stem = f"{number:05d}"
        (target / "images" / f"{stem}{image.suffix}").symlink_to(image.resolve())
        label = source / "labels" / f"{image.stem}.txt"
        if label.is_file():
            (target / "labels" / f"{stem}.txt").symlink_to(label.resolve())
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", type=Path, help="a YOLO set to cycle")
    parser.add_argument("val", type=Path, help="validation set, same layout")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--out", type=Path, help="append the JSON result to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data = cycled(args.train, args.count, Path(scratch) / "data")
        run = train_and_eval(
            Path(scratch) / "project", "detector", {"epochs": "1"}, data, args.val
        )
        emit({
            "images": args.count, "input_size": run.manifest["config"]["input_size"],
            "train_s": run.train_s, "peak_rss_mb": run.peak_rss_mb,
        }, args.out)


if __name__ == "__main__":
    main()
