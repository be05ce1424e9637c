"""Train an anomaly model on an MVTec-layout folder and report accuracy, time and size.

    python bench/anomaly/evaluate.py /work/shared/datasets/deeppcb_dev/anomaly --grayscale \
        --set input_size=640 --set bank_size=20000

Prints one JSON line (appended to --out when given): image and pixel AUROC, AUPRO, best F1,
F1 at the calibrated threshold, training seconds, predict p50/p90 in ms (measured
while scoring the test set) and the saved model's size.

``--perturb`` scores the test images again as unseen data differs (the model is
trained once), one more line per change, the unchanged test set being the
reference of the same run: ``scale=0.75`` (resized; masks follow),
``brightness=-40`` (gray levels added), ``contrast=0.7`` (spread around the mean):

    python bench/anomaly/evaluate.py /work/shared/datasets/bsdata_pitting \
        --perturb scale=0.75 --perturb brightness=-40 --perturb contrast=0.7
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inspekt.evaluation import (
    MvtecDataset,
    aupro,
    auroc,
    best_f1,
    f1_at_threshold,
    load_mvtec,
    pixel_auroc,
    read_image,
)
from inspekt.models.anomaly import AnomalyConfig, AnomalyModel


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs, values parsed as JSON when they parse (numbers, lists)."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def perturbed(image: np.ndarray, change: str | None) -> np.ndarray:
    """The test image as unseen data may differ: rescaled, brighter or darker, flatter."""
    if change is None:
        return image
    kind, _, value = change.partition("=")
    amount = float(value)
    if kind == "scale":
        size = (max(1, round(image.shape[1] * amount)), max(1, round(image.shape[0] * amount)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if kind == "brightness":
        return np.clip(image.astype(np.float32) + amount, 0, 255).astype(np.uint8)
    if kind == "contrast":
        mean = float(image.mean())
        return np.clip((image.astype(np.float32) - mean) * amount + mean, 0, 255).astype(np.uint8)
    raise SystemExit(f"unknown perturbation {change!r}: use scale=, brightness= or contrast=")


def evaluate(
    root: Path, config: AnomalyConfig, grayscale: bool, limit: int | None,
    changes: list[str | None],
) -> list[dict[str, Any]]:
    dataset = load_mvtec(root)
    train_paths = dataset.train[:limit] if limit else dataset.train
    good = [read_image(p, grayscale) for p in train_paths]
    started = time.perf_counter()
    model = AnomalyModel.fit(good, config)
    train_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as scratch:
        model.save(scratch)
        size_mb = sum(p.stat().st_size for p in Path(scratch).iterdir()) / 1e6
        model = AnomalyModel.load(scratch)
    return [
        score_test_set(root, dataset, model, grayscale, change, train_s, size_mb)
        for change in changes
    ]


def score_test_set(
    root: Path, dataset: MvtecDataset, model: AnomalyModel, grayscale: bool,
    change: str | None, train_s: float, size_mb: float,
) -> dict[str, Any]:
    labels, scores, masks, maps, latencies = [], [], [], [], []
    for sample in dataset.test:
        image = perturbed(read_image(sample.path, grayscale), change)
        tick = time.perf_counter()
        prediction = model.predict(image)
        latencies.append(time.perf_counter() - tick)
        labels.append(sample.label)
        scores.append(prediction.score)
        if dataset.has_masks:
            mask = sample.mask(image.shape[:2])
            if mask.shape != image.shape[:2]:  # the image was rescaled: the mask follows
                size = (image.shape[1], image.shape[0])
                mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
            masks.append(mask)
            maps.append(prediction.anomaly_map)
    f1, _ = best_f1(labels, scores)
    config = model.config
    return {
        "dataset": root.name if root.name != "anomaly" else root.parent.name,
        "perturbation": change,
        "config": config.model_dump(mode="json"),
        "image_auroc": round(auroc(labels, scores), 4),
        "pixel_auroc": round(pixel_auroc(masks, maps), 4) if masks else None,
        "aupro": round(aupro(masks, maps), 4) if masks else None,
        "best_f1": round(f1, 4),
        "f1_at_threshold": round(f1_at_threshold(labels, scores, model.threshold), 4),
        "train_s": round(train_s, 1),
        "predict_p50_ms": round(float(np.percentile(latencies, 50)) * 1000, 1),
        "predict_p90_ms": round(float(np.percentile(latencies, 90)) * 1000, 1),
        "model_mb": round(size_mb, 1),
        "bank_patches": model.training.get("bank_patches"),
    }


def emit(result: dict[str, Any], out: Path | None) -> None:
    """Print one JSON line, and append it to ``out`` when given (results accumulate)."""
    line = json.dumps(result)
    print(line)
    if out:
        with out.open("a") as handle:
            handle.write(line + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="MVTec-layout dataset folder")
    parser.add_argument("--set", action="append", default=[], help="config override key=value")
    parser.add_argument("--grayscale", action="store_true", help="decode images as grayscale")
    parser.add_argument("--limit", type=int, help="use only the first N training images")
    parser.add_argument("--out", type=Path, help="append the JSON result to this file")
    parser.add_argument("--perturb", action="append", default=[],
                        help="also score the test set changed: scale=F, brightness=D, contrast=F")
    args = parser.parse_args(argv)
    config = AnomalyConfig(**parse_overrides(args.set))
    for result in evaluate(args.root, config, args.grayscale, args.limit, [None, *args.perturb]):
        emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
