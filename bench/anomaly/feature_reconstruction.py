"""A second family for comparison: a model *learnt* from the good images.

Feature reconstruction (after DFR, Shi et al. 2021): the same frozen
EfficientNet-Lite0 patch features as the shipped memory bank, standardised, and
a small 1x1 auto-encoder trained on the good images' patches to reconstruct
them; a patch's anomaly score is its reconstruction error. Maps are smoothed
exactly as the shipped model's. Accuracy only — it is not shipped.

    python bench/anomaly/feature_reconstruction.py \
        /work/shared/datasets/deeppcb_dev/anomaly --grayscale
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from inspekt.evaluation import auroc, load_mvtec, pixel_auroc, read_image
from inspekt.models.anomaly import AnomalyConfig
from inspekt.models.anomaly._model import _export_backbone
from inspekt.models.anomaly._runtime import patch_features
from inspekt.models.anomaly._scoring import smooth_grid
from inspekt.models.onnx import open_session

sys.path.insert(0, str(Path(__file__).parent))
from evaluate import emit  # noqa: E402


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
        for batch in torch.randperm(len(data), generator=generator).split(4096):
            optimiser.zero_grad()
            loss = torch.nn.functional.mse_loss(net(data[batch]), data[batch])
            loss.backward()
            optimiser.step()
    return net.eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--grayscale", action="store_true")
    parser.add_argument("--bottleneck", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    config = AnomalyConfig()
    session = open_session(_export_backbone(config))
    dataset = load_mvtec(args.root)
    started = time.perf_counter()
    grids = [
        patch_features(session, read_image(p, args.grayscale), config.input_size)
        for p in dataset.train
    ]
    dim = grids[0].shape[-1]
    train = np.concatenate([g.reshape(-1, dim) for g in grids]).astype(np.float32)
    mean, std = train.mean(0), train.std(0) + 1e-6
    net = train_autoencoder((train - mean) / std, args.bottleneck, args.epochs, seed=0)
    train_s = time.perf_counter() - started

    labels, scores, masks, maps = [], [], [], []
    with torch.no_grad():
        for sample in dataset.test:
            image = read_image(sample.path, args.grayscale)
            features = patch_features(session, image, config.input_size)
            rows, cols, _ = features.shape
            x = torch.from_numpy(((features.reshape(-1, dim) - mean) / std).astype(np.float32))
            error = ((net(x) - x) ** 2).mean(1).numpy().reshape(rows, cols)
            grid = smooth_grid(error, config.map_dilation, config.blur_sigma / config.grid_stride)
            heat = cv2.resize(
                grid, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR
            )
            labels.append(sample.label)
            scores.append(float(heat.max()))
            if dataset.has_masks:
                masks.append(sample.mask(image.shape[:2]))
                maps.append(heat)
    emit({
        "dataset": args.root.name if args.root.name != "anomaly" else args.root.parent.name,
        "method": f"feature reconstruction AE (bottleneck {args.bottleneck}, {args.epochs} epochs)",
        "image_auroc": round(auroc(labels, scores), 4),
        "pixel_auroc": round(pixel_auroc(masks, maps), 4) if masks else None,
        "train_s": round(train_s, 1),
    }, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
