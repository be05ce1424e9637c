"""Peak memory of `inspekt train` and `inspekt eval` as a user runs them, by training-set size.

Builds a fresh anomaly project in a temp folder, links N training images into it
(a set smaller than N is repeated, each copy flipped or rotated differently so no two
files are the same image), then runs the real command line in a child process and
reads its peak resident set size. One JSON line per command:

    python bench/anomaly/memory.py /work/shared/datasets/deeppcb_dev/anomaly --images 200
    python bench/anomaly/memory.py /work/shared/datasets/deeppcb_dev/anomaly --images 2000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
from evaluate import emit

from inspekt.evaluation import load_mvtec

#: Ways a repeated image is made a different file: flips and quarter turns.
VARIANTS = (None, 1, 0, -1)


def write_training_set(source: list[Path], count: int, folder: Path) -> None:
    """``count`` images in ``folder``: the source set, then flipped copies of it."""
    folder.mkdir(parents=True)
    for index in range(count):
        path = source[index % len(source)]
        variant = VARIANTS[(index // len(source)) % len(VARIANTS)]
        target = folder / f"{index:05d}{path.suffix}"
        if variant is None:
            os.symlink(path, target)
        else:
            image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            cv2.imwrite(str(target), cv2.flip(image, variant))


def run_measured(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process run to completion."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(command)} failed with exit code {child.returncode}")
    return seconds, usage.ru_maxrss / 1024  # kilobytes on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="MVTec-layout dataset folder")
    parser.add_argument("--images", type=int, default=200, help="training images")
    parser.add_argument("--command", choices=("train", "eval"), default="train")
    parser.add_argument("--out", type=Path, help="append the JSON line to this file")
    args = parser.parse_args(argv)
    dataset = load_mvtec(args.root)
    cli = [sys.executable, "-m", "inspekt"]
    with tempfile.TemporaryDirectory() as scratch:
        project, good = Path(scratch) / "project", Path(scratch) / "good"
        write_training_set(dataset.train, args.images, good)
        subprocess.run([*cli, "init", str(project), "--template", "anomaly"], check=True,
                       stdout=subprocess.DEVNULL)
        if args.command == "train":
            seconds, peak = run_measured([*cli, "train", str(project), "--good", str(good)])
        else:
            subprocess.run([*cli, "train", str(project), "--good", str(good)], check=True,
                           stdout=subprocess.DEVNULL)
            seconds, peak = run_measured([*cli, "eval", str(project), str(args.root), "--json"])
    emit(
        {
            "dataset": args.root.name if args.root.name != "anomaly" else args.root.parent.name,
            "command": args.command,
            "training_images": args.images,
            "test_images": len(dataset.test),
            "seconds": round(seconds, 1),
            "peak_rss_mb": round(peak),
        },
        args.out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
