"""Does the synthetic-defect ranking of configurations predict the real one?

For one MVTec-layout dataset, every candidate configuration that tuning compares is
fitted once, on the same sample of training images tuning would use, and scored twice:
on painted defects over held-back good training images (what tuning sees) and on the
real test set (what it should predict). One JSON line per candidate:

    python bench/anomaly/self_tuning.py /work/shared/datasets/bsdata_pitting \
        --out bench/anomaly/self_tuning.jsonl
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from evaluate import emit, parse_overrides, score_test_set

from inspekt.evaluation import load_mvtec
from inspekt.imaging.io import ImageFiles
from inspekt.models.anomaly import AnomalyConfig, AnomalyModel
from inspekt.models.anomaly._model import resolve_input_size
from inspekt.models.anomaly._tuning import Subset, candidate_configs, synthetic_score, tuning_split


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="MVTec-layout dataset folder")
    parser.add_argument("--set", action="append", default=[], help="base config key=value")
    parser.add_argument("--grayscale", action="store_true", help="decode images as grayscale")
    parser.add_argument("--out", type=Path, help="append the JSON lines to this file")
    args = parser.parse_args(argv)

    dataset = load_mvtec(args.root)
    grayscale = args.grayscale
    train = ImageFiles(dataset.train, to_gray if grayscale else None)
    base = AnomalyConfig(**parse_overrides(args.set), tuning="off")
    rng = np.random.default_rng(base.seed)
    base = resolve_input_size(base, train, rng)
    fitting, held = tuning_split(len(train), rng)
    for candidate in candidate_configs(base):
        started = time.perf_counter()
        model = AnomalyModel.fit(Subset(train, fitting), candidate)
        train_s = time.perf_counter() - started
        synthetic = synthetic_score(model, candidate, Subset(train, held))
        real = score_test_set(args.root, dataset, model, grayscale, None, train_s, 0.0)
        emit(
            {
                **real,
                "tuning_images": {"fit": len(fitting), "held_back": len(held)},
                "synthetic_image_auroc": round(synthetic.image_auroc, 4),
                "synthetic_pixel_auroc": round(synthetic.pixel_auroc, 4),
            },
            args.out,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
