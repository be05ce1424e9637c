"""Train an anomaly model on an MVTec-layout folder and report accuracy, time and size.

    python bench/anomaly/evaluate.py /work/shared/datasets/deeppcb_dev/anomaly --grayscale \
        --set input_size=640 --set bank_size=20000

Prints one JSON line (appended to --out when given): the keys of ``inspekt eval --json``
(image and pixel AUROC — pixels on maps shrunk to at most 512 px, as eval does — AUPRO,
F1 and confusion at the calibrated threshold, escape rates, region recall, false boxes),
plus best F1, defect recall at the threshold, training seconds and the saved model's
size. ``ms_per_image_p50`` is measured while scoring the test set.

``--perturb`` scores the test images again as unseen data differs (the model is
trained once), one more line per change, the unchanged test set being the
reference of the same run: ``scale=0.75`` (resized; masks follow),
``brightness=-40`` (gray levels added), ``contrast=0.7`` (spread around the mean),
``rotate=5`` (degrees, then cropped to where no corner is filled in) and ``shift=16``
(pixels: the part moved right and down, so the frame loses that far edge; masks follow):

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

from inspekt.evaluation import MvtecDataset, best_f1, load_mvtec, read_image, read_mask
from inspekt.evaluation.anomaly import AnomalyEvaluator
from inspekt.imaging.regions import Region, find_regions
from inspekt.models.anomaly import AnomalyConfig, AnomalyModel
from inspekt.models.anomaly._training import turned_view


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


def perturbed(
    image: np.ndarray, mask: np.ndarray | None, change: str | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The test image (and its mask) as unseen data may differ: rescaled, relit, moved."""
    if change is None:
        return image, mask
    kind, _, value = change.partition("=")
    amount = float(value)
    if kind == "scale":  # the evaluator fits the mask to the map's size
        size = (max(1, round(image.shape[1] * amount)), max(1, round(image.shape[0] * amount)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA), mask
    if kind == "brightness":
        return np.clip(image.astype(np.float32) + amount, 0, 255).astype(np.uint8), mask
    if kind == "contrast":
        mean = float(image.mean())
        spread = (image.astype(np.float32) - mean) * amount + mean
        return np.clip(spread, 0, 255).astype(np.uint8), mask
    if kind == "shift":  # the part moved right and down: the camera sees less of its far side
        step = round(abs(amount))
        return image[: image.shape[0] - step, : image.shape[1] - step], _crop_mask(
            mask, image.shape, (0, image.shape[0] - step, 0, image.shape[1] - step)
        )
    if kind == "rotate":  # degrees about the centre; cropped to where the camera saw the part
        if mask is not None:
            size = (image.shape[1], image.shape[0])
            fitted = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
            mask = turned_view(fitted, amount, cv2.INTER_NEAREST)
        return turned_view(image, amount), mask
    raise SystemExit(
        f"unknown perturbation {change!r}: use scale=, brightness=, contrast=, rotate= or shift="
    )


def _crop_mask(
    mask: np.ndarray | None, shape: tuple[int, ...], box: tuple[int, int, int, int]
) -> np.ndarray | None:
    """The mask, at the image's size, cropped like the image."""
    if mask is None:
        return None
    fitted = cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return fitted[box[0]:box[1], box[2]:box[3]]


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


def touches_edge(region: Region, shape: tuple[int, ...]) -> bool:
    return (
        region.x == 0 or region.y == 0
        or region.x + region.width >= shape[1] or region.y + region.height >= shape[0]
    )


def score_test_set(
    root: Path, dataset: MvtecDataset, model: AnomalyModel, grayscale: bool,
    change: str | None, train_s: float, size_mb: float,
) -> dict[str, Any]:
    """The ``eval --json`` metrics of the test set, scored by the model as a module would."""
    threshold = model.threshold
    evaluator = AnomalyEvaluator(dataset, threshold)
    good_boxes_at_edge = 0
    for sample in dataset.test:
        image, truth = perturbed(
            read_image(sample.path, grayscale),
            read_mask(sample.mask_path) if sample.mask_path else None,
            change,
        )
        tick = time.perf_counter()
        prediction = model.predict(image)
        ms = (time.perf_counter() - tick) * 1000
        heat = prediction.anomaly_map
        regions = find_regions(heat, threshold)
        evaluator.add(
            sample, heat, prediction.score, prediction.score >= threshold, ms, regions, truth,
        )
        if sample.label == 0:
            good_boxes_at_edge += sum(touches_edge(region, heat.shape) for region in regions)
    evaluation = evaluator.result()
    labels = [scored.sample.label for scored in evaluation.samples]
    scores = [scored.score for scored in evaluation.samples]
    counts = evaluation.confusion
    return {
        "dataset": root.name if root.name != "anomaly" else root.parent.name,
        "perturbation": change,
        "config": model.config.model_dump(mode="json"),
        **evaluation.as_json(),
        "best_f1": round(best_f1(labels, scores)[0], 4),
        "recall": round(counts.tp / max(counts.tp + counts.fn, 1), 4),
        # Of the false boxes on good images, those touching the image border: a share
        # near 1 would mean edges themselves are false alarms.
        "good_boxes_at_edge": good_boxes_at_edge,
        "train_s": round(train_s, 1),
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
                        help="also score the test set changed: scale=F, brightness=D, contrast=F, "
                        "rotate=DEG, shift=PX")
    args = parser.parse_args(argv)
    config = AnomalyConfig(**parse_overrides(args.set))
    for result in evaluate(args.root, config, args.grayscale, args.limit, [None, *args.perturb]):
        emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
