"""A second family for comparison: a model *learnt* from the good images.

Feature reconstruction (after DFR, Shi et al. 2021): the same frozen
EfficientNet-Lite0 patch features as the shipped memory bank, standardised, and
a small 1x1 auto-encoder trained on the good images' patches to reconstruct
them; a patch's anomaly score is its reconstruction error. Maps are smoothed
exactly as the shipped model's. Accuracy only — it is not shipped.

    python bench/anomaly/feature_reconstruction.py \
        /work/shared/datasets/deeppcb_dev/anomaly --grayscale --bottleneck 8 --epochs 10

This file is also the harness of every learned-from-good family (``flow.py`` uses it):
15 % of train/good are held out of training, the threshold is the 95th percentile of
their image scores (good-only calibration, like the shipped model's), and the test set
gives image and pixel AUROC, AUPRO, best F1, F1 and defect recall at that threshold,
training seconds (features, fit and calibration) and predict p50 (features, model and
map per test image). Prints one JSON line, appended to ``--out`` when given.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch

from inspekt.evaluation import (
    aupro,
    auroc,
    best_f1,
    f1_at_threshold,
    load_mvtec,
    pixel_auroc,
    read_image,
)
from inspekt.models.anomaly import AnomalyConfig
from inspekt.models.anomaly._model import _export_backbone
from inspekt.models.anomaly._runtime import patch_features
from inspekt.models.anomaly._scoring import smooth_grid
from inspekt.models.onnx import open_session

sys.path.insert(0, str(Path(__file__).parent))
from evaluate import emit  # noqa: E402

Grid = npt.NDArray[np.float32]
#: Standardised (rows, cols, D) patch features of one image -> its (rows, cols) scores.
Scorer = Callable[[Grid], Grid]
#: Standardised feature grids of the training images -> a scorer, and what to report of it.
Fit = Callable[[list[Grid]], tuple[Scorer, dict[str, Any]]]


@dataclass(frozen=True)
class Standardiser:
    """Per-channel mean and deviation of the training patches."""

    mean: Grid
    std: Grid

    @classmethod
    def of(cls, grids: list[Grid]) -> Standardiser:
        patches = np.concatenate([g.reshape(-1, g.shape[-1]) for g in grids])
        return cls(patches.mean(0), patches.std(0) + np.float32(1e-6))

    def __call__(self, grid: Grid) -> Grid:
        standardised: Grid = (grid - self.mean) / self.std
        return standardised


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Dataset, features and calibration options shared by the learned families."""
    parser.add_argument("root", type=Path, help="MVTec-layout dataset folder")
    parser.add_argument("--grayscale", action="store_true", help="decode images as grayscale")
    parser.add_argument("--input-size", type=int, default=640, help="longer side fed to the net")
    parser.add_argument("--strides", type=int, nargs="+", default=[4, 8], help="backbone taps")
    parser.add_argument("--grid-stride", type=int, default=8, help="stride of the patch grid")
    parser.add_argument("--holdout", type=float, default=0.15,
                        help="share of train/good held out to calibrate the threshold")
    parser.add_argument("--quantile", type=float, default=0.95,
                        help="threshold = this quantile of the held-out images' scores")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="append the JSON result to this file")


def run_learned(args: argparse.Namespace, method: str, fit: Fit) -> dict[str, Any]:
    """Train ``fit`` on the good images of ``args.root`` and measure it on the test set."""
    config = AnomalyConfig(
        input_size=args.input_size,
        feature_strides=tuple(args.strides),
        grid_stride=args.grid_stride,
    )
    dataset = load_mvtec(args.root)
    order = np.random.default_rng(args.seed).permutation(len(dataset.train))
    held = max(1, round(args.holdout * len(order)))
    fit_paths = [dataset.train[i] for i in sorted(order[held:])]
    held_paths = [dataset.train[i] for i in sorted(order[:held])]

    started = time.perf_counter()
    session = open_session(_export_backbone(config))
    grids = [patch_features(session, read_image(p, args.grayscale), config) for p in fit_paths]
    standardise = Standardiser.of(grids)
    score_grid, details = fit([standardise(g) for g in grids])
    del grids

    def predict(image: npt.NDArray[np.uint8]) -> Grid:
        """The anomaly map at the image's size, smoothed as the shipped model's."""
        scores = score_grid(standardise(patch_features(session, image, config)))
        grid = smooth_grid(scores, config.map_dilation, config.blur_sigma / config.grid_stride)
        size = (image.shape[1], image.shape[0])
        return cv2.resize(grid, size, interpolation=cv2.INTER_LINEAR).astype(np.float32)

    held_scores = [float(predict(read_image(p, args.grayscale)).max()) for p in held_paths]
    threshold = float(np.quantile(held_scores, args.quantile))
    train_s = time.perf_counter() - started

    labels, scores, masks, maps, latencies = [], [], [], [], []
    for sample in dataset.test:
        image = read_image(sample.path, args.grayscale)
        tick = time.perf_counter()
        heat = predict(image)
        latencies.append(time.perf_counter() - tick)
        labels.append(sample.label)
        scores.append(float(heat.max()))
        if dataset.has_masks:
            masks.append(sample.mask(image.shape[:2]))
            maps.append(heat)
    defect_scores = np.array(scores)[np.array(labels) == 1]
    f1, _ = best_f1(labels, scores)
    return {
        "dataset": args.root.name if args.root.name != "anomaly" else args.root.parent.name,
        "method": method,
        "config": {
            "input_size": config.input_size,
            "feature_strides": list(config.feature_strides),
            "grid_stride": config.grid_stride,
            "train_images": len(fit_paths),
            "holdout_images": len(held_paths),
            **details,
        },
        "image_auroc": round(auroc(labels, scores), 4),
        "pixel_auroc": round(pixel_auroc(masks, maps), 4) if masks else None,
        "aupro": round(aupro(masks, maps), 4) if masks else None,
        "best_f1": round(f1, 4),
        "f1_at_threshold": round(f1_at_threshold(labels, scores, threshold), 4),
        "recall_at_threshold": round(float((defect_scores >= threshold).mean()), 4),
        "train_s": round(train_s, 1),
        "predict_p50_ms": round(float(np.percentile(latencies, 50)) * 1000, 1),
    }


def train_autoencoder(
    patches: np.ndarray, bottleneck: int, epochs: int, seed: int
) -> torch.nn.Module:
    torch.manual_seed(seed)
    dim = patches.shape[1]
    net = torch.nn.Sequential(
        torch.nn.Linear(dim, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, bottleneck), torch.nn.ReLU(),
        torch.nn.Linear(bottleneck, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, dim),
    )
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    data = torch.from_numpy(patches)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for batch in torch.split(torch.randperm(len(data), generator=generator), 4096):
            optimiser.zero_grad()
            loss = torch.nn.functional.mse_loss(net(data[batch]), data[batch])
            torch.autograd.backward(loss)  # loss.backward(), which the stubs leave untyped
            optimiser.step()
    return net.eval()


def autoencoder_fit(bottleneck: int, epochs: int, seed: int) -> Fit:
    """Train the auto-encoder on every training patch; score = mean squared error per patch."""

    def fit(grids: list[Grid]) -> tuple[Scorer, dict[str, Any]]:
        dim = grids[0].shape[-1]
        patches = np.concatenate([g.reshape(-1, dim) for g in grids])
        net = train_autoencoder(patches, bottleneck, epochs, seed)

        def score(grid: Grid) -> Grid:
            with torch.no_grad():
                x = torch.from_numpy(grid.reshape(-1, dim))
                error: Grid = ((net(x) - x) ** 2).mean(1).numpy()
            return error.reshape(grid.shape[:2])

        return score, {"bottleneck": bottleneck, "epochs": epochs}

    return fit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--bottleneck", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    fit = autoencoder_fit(args.bottleneck, args.epochs, args.seed)
    emit(run_learned(args, "feature reconstruction AE", fit), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
