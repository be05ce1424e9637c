"""Does the synthetic-defect ranking of configurations predict the real one?

For one MVTec-layout dataset, every candidate configuration that tuning compares is
fitted once, on the same sample of training images tuning would use, and scored twice:
on painted defects over held-back good training images (what tuning sees) and on the
real test set (what it should predict). One JSON line per candidate:

    python bench/anomaly/self_tuning.py /work/shared/datasets/bsdata_pitting \
        --out bench/anomaly/self_tuning.jsonl

``--summary FILE`` prints, per dataset in such a file, the rank correlation of the
synthetic and real merits (mean of image and pixel AUROC) and what the synthetic pick
scores on real defects against the best candidate.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

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


def ranks(values: list[float]) -> list[int]:
    order = sorted(range(len(values)), key=lambda i: -values[i])
    return [order.index(i) for i in range(len(values))]


def summarise(path: Path) -> None:
    """Markdown rows: per dataset, Spearman's rho and the synthetic pick against the best."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        rows.setdefault(row["dataset"], []).append(row)
    print("| dataset | candidates | Spearman ρ, synthetic vs real merit | synthetic pick | "
          "its real image / pixel AUROC | best real candidate | its real image / pixel AUROC |")
    print("|---|---|---|---|---|---|---|")
    for dataset, found in rows.items():
        synthetic = [(r["synthetic_image_auroc"] + r["synthetic_pixel_auroc"]) / 2 for r in found]
        real = [(r["image_auroc"] + r["pixel_auroc"]) / 2 for r in found]
        n = len(found)
        d2 = sum((a - b) ** 2 for a, b in zip(ranks(synthetic), ranks(real), strict=True))
        rho = 1 - 6 * d2 / (n * (n * n - 1)) if n > 1 else 1.0
        pick, best = found[synthetic.index(max(synthetic))], found[real.index(max(real))]
        print(f"| {dataset} | {n} | {rho:.2f} | {name(pick)} | {pick['image_auroc']:.3f} / "
              f"{pick['pixel_auroc']:.3f} | {name(best)} | {best['image_auroc']:.3f} / "
              f"{best['pixel_auroc']:.3f} |")


def name(row: dict[str, Any]) -> str:
    config = row["config"]
    taps = "+".join(str(s) for s in config["feature_strides"])
    return f"{config['input_size']} px, taps {taps}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, nargs="?", help="MVTec-layout dataset folder")
    parser.add_argument("--summary", type=Path, help="summarise this file of results instead")
    parser.add_argument("--set", action="append", default=[], help="base config key=value")
    parser.add_argument("--grayscale", action="store_true", help="decode images as grayscale")
    parser.add_argument("--out", type=Path, help="append the JSON lines to this file")
    args = parser.parse_args(argv)
    if args.summary:
        summarise(args.summary)
        return 0
    if args.root is None:
        parser.error("give a dataset folder, or --summary FILE")
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
