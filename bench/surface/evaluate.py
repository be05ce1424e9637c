"""Train and evaluate a surface project on one dev set through the command line.

The set is a folder with train/ and val/ in the images/ + masks/ layout
(bench/surface/sets.py builds them). A fresh project from ``inspekt init --template
surface`` is trained with ``inspekt train --data SET/train`` and measured with
``inspekt eval SET/val --json``. The reference, from the same run: an anomaly model
(shipped defaults) trained on the set's good training images (those with an empty
mask), its map cut at its calibrated threshold, scored by the same IoU; no reference
where the set has no good images.

    python bench/surface/evaluate.py bench/out/surface/hazelnut
    python bench/surface/evaluate.py bench/out/surface/crackforest --set input_size=256
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from inspekt.evaluation.segmentation import (
    SegmentationEvaluator,
    SegmentationSet,
    load_segmentation_set,
)
from inspekt.imaging.io import read_image_file
from inspekt.models.anomaly import AnomalyModel
from inspekt.models.surface import SurfaceConfig
from inspekt.models.surface._network import SurfaceNetwork, _WithProbabilities

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_project import (  # noqa: E402
    emit,
    parse_options,
    torch_eager_p50,
    train_and_eval,
)


def anomaly_reference(root: Path) -> dict[str, Any] | None:
    """IoU and Dice of the anomaly map at its threshold, every class as one."""
    train = load_segmentation_set(root / "train")
    good = []
    for sample in train.samples:
        image = read_image_file(sample.image)
        if not sample.read_mask(image.shape[:2], len(train.classes)).any():
            good.append(image)
    if len(good) < 2:
        return None
    started = time.perf_counter()
    model = AnomalyModel.fit(good)
    train_s = time.perf_counter() - started
    val = load_segmentation_set(root / "val")
    # the map knows no classes: every class counts as one
    evaluator = SegmentationEvaluator(SegmentationSet(val.root, ("defect",), val.samples))
    for sample in val.samples:
        image = read_image_file(sample.image)
        truth = (sample.read_mask(image.shape[:2], len(val.classes)) > 0).astype(np.uint8)
        started = time.perf_counter()
        heat = model.predict(image).anomaly_map
        ms = (time.perf_counter() - started) * 1000
        marked = (heat >= model.threshold).astype(np.uint8)
        evaluator.add(sample.image.stem, image, marked, truth, ms)
    result = evaluator.result.as_json()
    return {"iou": result["iou"], "dice": result["dice"],
            "ms_per_image_p50": round(result["ms_per_image_p50"], 2),
            "train_s": round(train_s, 1), "good_images": len(good)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder with train/ and val/ (images/, masks/)")
    parser.add_argument("--set", action="append", default=[], help="model option key=value")
    parser.add_argument("--out", type=Path, help="append the JSON result to this file")
    parser.add_argument("--no-reference", action="store_true", help="skip the anomaly map")
    args = parser.parse_args()
    options = parse_options(args.set)
    with tempfile.TemporaryDirectory() as scratch:
        run = train_and_eval(
            Path(scratch) / "project", "surface", options, args.root / "train",
            args.root / "val",
        )
        training = run.training
        row = {
            "dataset": args.root.name,
            "options": options,
            "iou": run.result["iou"],
            "dice": run.result["dice"],
            "n_images": run.result["n_images"],
            "ms_per_image_p50": round(run.result["ms_per_image_p50"], 2),
            "torch_eager_p50": torch_eager_p50(
                run.model_dir, SurfaceConfig,
                lambda config, classes: _WithProbabilities(SurfaceNetwork(config, classes)),
            ),
            "train_s": run.train_s,
            "peak_rss_mb": run.peak_rss_mb,
            "model_mb": run.model_mb,
            "validation_iou": training["validation_iou"],
            "epochs": len(training["epochs"]),
            "input_size": run.manifest["config"]["input_size"],
        }
    if not args.no_reference:
        row["anomaly_reference"] = anomaly_reference(args.root)
    emit(row, args.out)


if __name__ == "__main__":
    main()
