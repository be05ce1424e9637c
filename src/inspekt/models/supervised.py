"""What every supervised model trains with: the held-back split, the training copies,
and the epoch loop that keeps the epoch that validates best.

Torch is imported here, so only training imports this module.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional

from ..types import Progress
from .backbone import load_pretrained, tap_indices
from .training_options import TrainingOptions

__all__ = [
    "DEVICE",
    "FeaturePyramid",
    "Score",
    "as_tensor",
    "batch_for",
    "epochs_for",
    "held_back",
    "on_device",
    "train_epochs",
    "training_copies",
]

#: Where networks train: a CUDA GPU when torch sees one, else the CPU. Never required:
#: serving runs the exported network on the CPU either way.
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

#: Training steps aimed at when ``epochs`` is unset, and the epochs allowed for it.
TARGET_STEPS, MIN_EPOCHS, MAX_EPOCHS = 300, 4, 30
#: Brightness (gray levels) and contrast (factor) range of the training copies: lighting
#: drifts on a line, and the answer must not depend on it.
BRIGHTNESS, CONTRAST = 20.0, (0.8, 1.2)

#: Most pixels in one training batch: back-propagation holds every layer's activations,
#: about 1.7 GB per million pixels for these networks, so a batch of large images is
#: made smaller to keep training within 2 GB.
BATCH_PIXELS = 1 << 19

#: (N, H, W, 3) RGB uint8 images at the network's size.
Batch = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Score:
    """How a network did on the validation images: its metric first, then its loss."""

    metric: float
    loss: float

    def beats(self, other: Score | None) -> bool:
        if other is None:
            return True
        return (self.metric, -self.loss) > (other.metric, -other.loss)


class FeaturePyramid(torch.nn.Module):
    """The pretrained trunk with an FPN-style top-down path: RGB 0..255 in, one map at
    the finest level's stride out.

    The levels (by stride) are brought to one width with 1x1 convolutions, summed from
    the coarsest down (each upsampled to the next), and smoothed: fine levels say where,
    coarse ones what.
    """

    def __init__(self, options: TrainingOptions, levels: tuple[int, ...], width: int) -> None:
        super().__init__()
        trunk = load_pretrained(options.backbone)
        taps = tap_indices(trunk, levels)
        self.taps = [taps[stride] for stride in levels]
        self.stem = torch.nn.Sequential(trunk._conv_stem, trunk._bn0, trunk._swish)
        self.blocks = torch.nn.ModuleList(trunk._blocks[: max(self.taps) + 1])
        with torch.no_grad():
            channels = [level.shape[1] for level in self._levels(torch.zeros(1, 3, 64, 64))]
        self.lateral = torch.nn.ModuleList(torch.nn.Conv2d(c, width, 1) for c in channels)
        self.smooth = torch.nn.Sequential(
            torch.nn.Conv2d(width, width, 3, padding=1, bias=False),
            torch.nn.BatchNorm2d(width),
            torch.nn.ReLU(inplace=True),
        )

    def _levels(self, image: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem((image - 127.0) / 128.0)
        levels = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in self.taps:
                levels.append(x)
        return levels

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        levels = self._levels(image)
        joined = self.lateral[-1](levels[-1])
        for level, lateral in zip(levels[-2::-1], list(self.lateral)[-2::-1], strict=True):
            joined = functional.interpolate(
                joined, size=level.shape[-2:], mode="bilinear", align_corners=False
            ) + lateral(level)
        smoothed: torch.Tensor = self.smooth(joined)
        return smoothed


def held_back(strata: npt.NDArray[np.int64], share: float, seed: int) -> npt.NDArray[np.bool_]:
    """A seeded share of every stratum (class) held back for validation, at least one each
    and never all of one."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(strata), bool)
    for value in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == value))
        count = min(len(members) - 1, max(1, round(len(members) * share)))
        held[members[:count]] = True
    return held


def as_tensor(images: Batch) -> torch.Tensor:
    """(N, H, W, 3) uint8 as the (N, 3, H, W) float tensor the networks take, on DEVICE."""
    return on_device(images).permute(0, 3, 1, 2).float()


def on_device(array: npt.NDArray[np.generic]) -> torch.Tensor:
    """A numpy array as a tensor on :data:`DEVICE` (targets, labels, masks)."""
    return torch.from_numpy(np.ascontiguousarray(array)).to(DEVICE)


def training_copies(
    images: Batch,
    rng: np.random.Generator,
    turns: bool,
    masks: npt.NDArray[np.uint8] | None = None,
) -> tuple[torch.Tensor, npt.NDArray[np.uint8] | None]:
    """Copies to train on: mirrored and quarter-turned (when allowed, masks alike), relit."""
    out = images.copy()
    out_masks = None if masks is None else masks.copy()
    if turns:
        for i in range(len(out)):
            mirror, quarter = rng.random() < 0.5, int(rng.integers(4))
            copy = out[i][:, ::-1] if mirror else out[i]
            out[i] = np.rot90(copy, quarter)
            if out_masks is not None:
                mask = out_masks[i][:, ::-1] if mirror else out_masks[i]
                out_masks[i] = np.rot90(mask, quarter)
    gain = rng.uniform(*CONTRAST, (len(out), 1, 1, 1)).astype(np.float32)
    shift = rng.uniform(-BRIGHTNESS, BRIGHTNESS, (len(out), 1, 1, 1)).astype(np.float32)
    mean = out.mean(axis=(1, 2, 3), keepdims=True, dtype=np.float32)
    relit = np.clip((out.astype(np.float32) - mean) * gain + mean + shift, 0, 255)
    return as_tensor(relit.astype(np.uint8)), out_masks


def epochs_for(
    options: TrainingOptions, images: int, batch: int, target_steps: int = TARGET_STEPS,
    max_epochs: int = MAX_EPOCHS,
) -> int:
    """The epochs: as configured, or enough for about ``target_steps`` batches."""
    if options.epochs is not None:
        return options.epochs
    batches = max(1, images // batch)
    return min(max_epochs, max(MIN_EPOCHS, math.ceil(target_steps / batches)))


def batch_for(options: TrainingOptions, images: int, image_pixels: int) -> int:
    """Images per step: as configured, fewer for large images (BATCH_PIXELS), at least 2."""
    return max(2, min(options.batch_size, images, BATCH_PIXELS // max(1, image_pixels)))


def train_epochs(
    network: torch.nn.Module,
    images: int,
    image_pixels: int,
    step_loss: Callable[[npt.NDArray[np.int64], np.random.Generator], torch.Tensor],
    validate: Callable[[], Score],
    options: TrainingOptions,
    report: Progress | None = None,
    stage: str = "train",
    metric: str = "accuracy",
    target_steps: int = TARGET_STEPS,
    validate_from: float = 0.0,
    max_epochs: int = MAX_EPOCHS,
) -> tuple[Score, list[dict[str, float]]]:
    """Train every layer with a one-cycle schedule; keep the epoch that validates best.

    ``images`` training images of ``image_pixels`` pixels each are drawn in batches
    (:func:`batch_for`); ``step_loss`` gives the loss of one batch (their indices); ``validate``
    scores the network in eval mode, from the epoch ``validate_from`` (a share) of the
    way on: a costly validation is not spent on epochs at the peak learning rate,
    which do not end up best. Returns the best epoch's score and every epoch's figures;
    the network is left with the best epoch's weights.
    """
    network.to(DEVICE)
    rng = np.random.default_rng(options.seed)
    batch = batch_for(options, images, image_pixels)
    epochs = epochs_for(options, images, batch, target_steps, max_epochs)
    steps_per_epoch = max(1, images // batch)
    optimiser = torch.optim.AdamW(network.parameters(), lr=options.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, options.learning_rate, total_steps=epochs * steps_per_epoch, pct_start=0.15
    )
    best: Score | None = None
    best_state = {k: v.clone() for k, v in network.state_dict().items()}
    history: list[dict[str, float]] = []
    stale = 0
    first_validated = min(epochs, math.floor(epochs * validate_from) + 1)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        network.train()
        order = rng.permutation(images)
        losses = []
        # Whole batches only: batch normalisation needs more than one image per step.
        for step in range(steps_per_epoch):
            loss = step_loss(order[step * batch : (step + 1) * batch], rng)
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
        if epoch < first_validated:
            history.append({"epoch": epoch, "loss": round(float(np.mean(losses)), 4),
                            "seconds": round(time.perf_counter() - started, 1)})
            if report:
                report(epoch, epochs, f"{stage}: loss {np.mean(losses):.3f}")
            continue
        network.eval()
        score = validate()
        history.append(
            {"epoch": epoch, "loss": round(float(np.mean(losses)), 4),
             f"val_{metric}": round(score.metric, 4), "val_loss": round(score.loss, 4),
             "seconds": round(time.perf_counter() - started, 1)}
        )
        if report:
            report(epoch, epochs, f"{stage}: loss {np.mean(losses):.3f}, "
                   f"validation {metric} {score.metric:.3f}")
        if score.beats(best):
            best, stale = score, 0
            best_state = {k: v.clone() for k, v in network.state_dict().items()}
        else:
            stale += 1
            if stale >= options.patience:
                break
    network.load_state_dict(best_state)
    assert best is not None  # at least one epoch ran
    return best, history
