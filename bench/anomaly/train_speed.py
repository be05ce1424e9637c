"""Training time of the shipped fit against a straightforward reference, same run.

    python bench/anomaly/train_speed.py /work/shared/datasets/deeppcb_dev/anomaly --grayscale

Shipped: ``AnomalyModel.fit`` (ONNX export, onnxruntime features, greedy coreset over a
random sample of ``coreset_candidates`` patches, leave-one-out calibration).
Reference: torch-eager features of every image, then greedy coreset over every patch
(PatchCore as published). The reference greedy loop is timed for ``--steps`` steps and
extrapolated linearly to ``bank_size`` steps: each step costs the same (one pass over
all patches), so the extrapolation is exact up to noise, and running it in full would
take many minutes. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from inspekt.evaluation import load_mvtec, read_image
from inspekt.models.anomaly import AnomalyConfig, AnomalyModel
from inspekt.models.anomaly._runtime import to_network_input

sys.path.insert(0, str(Path(__file__).parent))
from evaluate import emit, parse_overrides  # noqa: E402


def reference_features(images: list[np.ndarray], config: AnomalyConfig) -> np.ndarray:
    import torch

    from inspekt.models.anomaly._backbone import build_feature_extractor

    torch.set_num_threads(2)
    network = build_feature_extractor(config)
    rows = []
    with torch.no_grad():
        for image in images:
            features = network(torch.from_numpy(to_network_input(image, config)))[0]
            rows.append(features.reshape(features.shape[0], -1).T.numpy())
    return np.concatenate(rows)


def reference_greedy_seconds_per_step(features: np.ndarray, steps: int) -> float:
    """Plain greedy k-centre (no sampling, no projection), timed for ``steps`` steps."""
    import torch

    points = torch.from_numpy(features)
    nearest = torch.full((len(points),), float("inf"))
    index = 0
    started = time.perf_counter()
    for _ in range(steps):
        distance = torch.linalg.norm(points - points[index], dim=1)
        nearest = torch.minimum(nearest, distance)
        index = int(torch.argmax(nearest))
    return (time.perf_counter() - started) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--set", action="append", default=[], help="config override key=value")
    parser.add_argument("--grayscale", action="store_true")
    parser.add_argument("--steps", type=int, default=100, help="reference greedy steps timed")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    config = AnomalyConfig(**parse_overrides(args.set))
    good = [read_image(p, args.grayscale) for p in load_mvtec(args.root).train]

    started = time.perf_counter()
    AnomalyModel.fit(good, config)
    shipped_s = time.perf_counter() - started

    started = time.perf_counter()
    features = reference_features(good, config)
    features_s = time.perf_counter() - started
    per_step = reference_greedy_seconds_per_step(features, args.steps)
    reference_s = features_s + per_step * min(config.bank_size, len(features))
    result = {
        "dataset": str(args.root),
        "images": len(good),
        "patches": len(features),
        "config": config.model_dump(mode="json"),
        "shipped_fit_s": round(shipped_s, 1),
        "reference_features_s": round(features_s, 1),
        "reference_greedy_ms_per_step": round(per_step * 1000, 1),
        "reference_fit_s_extrapolated": round(reference_s, 1),
        "speedup": round(reference_s / shipped_s, 2),
    }
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
