"""The surface model's network and its training: the only code of it that needs torch.

An FPN-style decoder on the pretrained trunk: the stride 4, 8, 16 and 32 levels are
brought to one width, summed from the coarsest down, smoothed and classified per pixel
at stride 4, then upsampled to the input. Trained on cross-entropy plus a soft Dice
term per defect class: defects cover a few percent of the pixels, and cross-entropy
alone learns that "background everywhere" is nearly right.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional

from ...types import Progress
from ..backbone import BUILD_SIZE, export_onnx
from ..image_store import ImageStore
from ..supervised import (
    DEVICE,
    FeaturePyramid,
    Score,
    as_tensor,
    held_back,
    on_device,
    train_epochs,
    training_copies,
)
from ._config import SurfaceConfig

#: Backbone levels the decoder joins, by stride.
LEVELS = (4, 8, 16, 32)
#: Images validated per forward pass.
VALIDATION_BATCH = 8


class SurfaceNetwork(torch.nn.Module):
    """RGB 0..255 in, per-pixel class logits (background first) out, at the input's size."""

    def __init__(self, config: SurfaceConfig, classes: int) -> None:
        super().__init__()
        self.pyramid = FeaturePyramid(config, LEVELS, config.decoder_channels)
        self.classify = torch.nn.Conv2d(config.decoder_channels, classes + 1, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.classify(self.pyramid(image))
        return functional.interpolate(
            logits, size=image.shape[-2:], mode="bilinear", align_corners=False
        )


class _WithProbabilities(torch.nn.Module):
    def __init__(self, network: SurfaceNetwork) -> None:
        super().__init__()
        self.network = network

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.network(image), dim=1)


def _loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Cross-entropy plus one minus the soft Dice of each defect class."""
    classes = logits.shape[1]
    probabilities = torch.softmax(logits, dim=1)[:, 1:]
    truth = functional.one_hot(masks, classes).permute(0, 3, 1, 2)[:, 1:].float()
    overlap = (probabilities * truth).sum((0, 2, 3))
    dice = (2 * overlap + 1) / (probabilities.sum((0, 2, 3)) + truth.sum((0, 2, 3)) + 1)
    return functional.cross_entropy(logits, masks) + (1 - dice).mean()


def _validate(network: SurfaceNetwork, images: ImageStore, masks: ImageStore) -> Score:
    """Mean IoU over the defect classes (counted over all images), and the loss."""
    classes = network.classify.out_channels
    intersection, union = np.zeros(classes - 1), np.zeros(classes - 1)
    losses = []
    with torch.no_grad():
        for start in range(0, len(images), VALIDATION_BATCH):
            logits = network(as_tensor(images[start : start + VALIDATION_BATCH]))
            truth = on_device(masks[start : start + VALIDATION_BATCH].astype(np.int64))
            losses.append(float(_loss(logits, truth)))
            found = logits.argmax(1)
            for c in range(1, classes):
                intersection[c - 1] += int(((found == c) & (truth == c)).sum())
                union[c - 1] += int(((found == c) | (truth == c)).sum())
    present = union > 0
    iou = float((intersection[present] / union[present]).mean()) if present.any() else 0.0
    return Score(iou, float(np.mean(losses)))


def train(
    squares: ImageStore,
    masks: ImageStore,
    defective: npt.NDArray[np.bool_],
    classes: int,
    config: SurfaceConfig,
    progress: Progress | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """Train on the squares and their class-index masks; the ONNX bytes and what it found.

    Validation is held back within images with and without defects alike.
    """
    held = held_back(defective.astype(np.int64), config.validation_share, config.seed)
    train_images, train_masks = squares.view(~held), masks.view(~held)
    torch.manual_seed(config.seed)
    network = SurfaceNetwork(config, classes).to(DEVICE)

    def step_loss(chosen: npt.NDArray[np.int64], rng: np.random.Generator) -> torch.Tensor:
        copies, copied_masks = training_copies(
            train_images[chosen], rng, config.turns, train_masks[chosen]
        )
        assert copied_masks is not None
        truth = on_device(copied_masks.astype(np.int64))
        return _loss(network(copies), truth)

    score, history = train_epochs(
        network, len(train_images), squares.shape[1] * squares.shape[2], step_loss,
        lambda: _validate(network, squares.view(held), masks.view(held)), config, progress, "train",
        "iou",
    )
    network.eval()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "surface.onnx"
        export_onnx(
            _WithProbabilities(network),
            torch.zeros(1, 3, BUILD_SIZE, BUILD_SIZE),
            path,
            "probabilities",
            {"image": {0: "batch", 2: "height", 3: "width"},
             "probabilities": {0: "batch", 2: "height", 3: "width"}},
        )
        onnx_bytes = path.read_bytes()
    found = {
        "validation_images": int(held.sum()),
        "validation_iou": round(score.metric, 4),
        "epochs": history,
    }
    return onnx_bytes, found
