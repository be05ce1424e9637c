"""The classifier's network and its training: the only code of the classifier that needs torch.

A linear head is first fitted on the frozen pretrained features (seconds, and often
enough on textures); when it misses validation images, every layer is trained, and
whichever validates better is kept. Fine-tuning starts from a zeroed head, not the
fitted one: on the PCB defect crops the fitted head's confident logits held the
features back, and needed about twice the epochs to reach the same accuracy.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional

from ...types import Progress
from ..backbone import export_onnx, load_pretrained
from ._config import ClassifierConfig

#: Fine-tuning steps aimed at when ``epochs`` is unset, and the epochs allowed for it.
TARGET_STEPS, MIN_EPOCHS, MAX_EPOCHS = 300, 4, 30
#: Weight decay of the linear head fitted on frozen features.
HEAD_DECAY = 1e-3
#: Brightness (gray levels) and contrast (factor) range of the training copies: lighting
#: drifts on a line, and the class must not depend on it.
BRIGHTNESS, CONTRAST = 20.0, (0.8, 1.2)

#: Validation accuracy at which 'auto' keeps the head and skips fine-tuning: fine-tuning
#: costs minutes on a CPU, for at most one image in a hundred.
HEAD_IS_ENOUGH = 0.99

#: (N, S, S, 3) RGB uint8 images at the network's size.
Batch = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Split:
    """Training and validation images with their class indices."""

    train: Batch
    train_labels: npt.NDArray[np.int64]
    val: Batch
    val_labels: npt.NDArray[np.int64]


@dataclass(frozen=True)
class Score:
    """How a network did on the validation images: accuracy first, then loss."""

    accuracy: float
    loss: float

    def beats(self, other: Score | None) -> bool:
        if other is None:
            return True
        return (self.accuracy, -self.loss) > (other.accuracy, -other.loss)


class ClassifierNetwork(torch.nn.Module):
    """Pretrained trunk, global average pooling and a linear layer; RGB 0..255 in, logits out."""

    def __init__(self, config: ClassifierConfig, classes: int) -> None:
        super().__init__()
        self.trunk = load_pretrained(config.backbone)
        self.head = torch.nn.Linear(self.trunk._fc.in_features, classes)

    def zero_head(self) -> None:
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)

    def features(self, image: torch.Tensor) -> torch.Tensor:
        pooled: torch.Tensor = self.trunk.extract_features((image - 127.0) / 128.0).mean((2, 3))
        return pooled

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.features(image))
        return logits


class _WithProbabilities(torch.nn.Module):
    def __init__(self, network: ClassifierNetwork) -> None:
        super().__init__()
        self.network = network

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.network(image), dim=1)


def split_for_validation(
    squares: Batch, labels: npt.NDArray[np.int64], config: ClassifierConfig
) -> Split:
    """A seeded share of every class held back for validation (at least one image each)."""
    rng = np.random.default_rng(config.seed)
    held = np.zeros(len(labels), bool)
    for index in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == index))
        count = min(len(members) - 1, max(1, round(len(members) * config.validation_share)))
        held[members[:count]] = True
    return Split(squares[~held], labels[~held], squares[held], labels[held])


def train(
    squares: Batch,
    labels: npt.NDArray[np.int64],
    classes: int,
    config: ClassifierConfig,
    progress: Progress | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """Train on the squares; the ONNX bytes and what training found."""
    split = split_for_validation(squares, labels, config)
    torch.manual_seed(config.seed)
    network = ClassifierNetwork(config, classes)
    if progress:
        progress(0, 1, "head")
    head = fit_head(network, split, config)
    if progress:
        progress(1, 1, "head")
    chosen, score = "head", head
    history: list[dict[str, float]] = []
    if config.training == "fine-tune" or (
        config.training == "auto" and head.accuracy < HEAD_IS_ENOUGH
    ):
        head_state = {k: v.clone() for k, v in network.state_dict().items()}
        network.zero_head()
        tuned, history = fine_tune(network, split, config, progress)
        if config.training == "fine-tune" or tuned.beats(head):
            chosen, score = "fine-tune", tuned
        else:
            network.load_state_dict(head_state)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "classifier.onnx"
        export_onnx(
            _WithProbabilities(network),
            torch.zeros(1, 3, squares.shape[1], squares.shape[2]),
            path,
            "probabilities",
            {"image": {0: "batch"}, "probabilities": {0: "batch"}},
        )
        onnx_bytes = path.read_bytes()
    found = {
        "validation_images": len(split.val_labels),
        "head_validation_accuracy": round(head.accuracy, 4),
        "chosen": chosen,
        "validation_accuracy": round(score.accuracy, 4),
        "epochs": history,
    }
    return onnx_bytes, found


def _tensor(images: Batch) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()


def _in_batches(images: Batch, run: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([run(_tensor(images[i : i + 32])) for i in range(0, len(images), 32)])


def evaluate(network: ClassifierNetwork, images: Batch, labels: npt.NDArray[np.int64]) -> Score:
    """Accuracy and mean cross-entropy of the network on images, in eval mode."""
    network.eval()
    logits = _in_batches(images, network)
    target = torch.from_numpy(labels)
    accuracy = float((logits.argmax(1) == target).float().mean())
    return Score(accuracy, float(functional.cross_entropy(logits, target)))


def fit_head(network: ClassifierNetwork, split: Split, config: ClassifierConfig) -> Score:
    """Fit the linear layer on frozen, pooled features of the images (and their mirrors)."""
    network.eval()
    views = [split.train] + ([split.train[:, :, ::-1]] if config.turns else [])
    features = torch.cat([_in_batches(view, network.features) for view in views])
    target = torch.from_numpy(np.concatenate([split.train_labels] * len(views)))
    head = network.head
    optimiser = torch.optim.LBFGS(head.parameters(), max_iter=200, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = functional.cross_entropy(head(features), target)
        value = value + HEAD_DECAY * (head.weight**2).sum()
        value.backward()  # type: ignore[no-untyped-call]
        return value

    optimiser.step(loss)  # type: ignore[no-untyped-call]
    return evaluate(network, split.val, split.val_labels)


def _augmented(images: Batch, rng: np.random.Generator, turns: bool) -> torch.Tensor:
    """Training copies: mirrored and quarter-turned (when allowed), relit."""
    out = images.copy()
    if turns:
        for i in range(len(out)):
            copy = out[i]
            if rng.random() < 0.5:
                copy = copy[:, ::-1]
            out[i] = np.rot90(copy, int(rng.integers(4)))
    gain = rng.uniform(*CONTRAST, (len(out), 1, 1, 1)).astype(np.float32)
    shift = rng.uniform(-BRIGHTNESS, BRIGHTNESS, (len(out), 1, 1, 1)).astype(np.float32)
    mean = out.mean(axis=(1, 2, 3), keepdims=True, dtype=np.float32)
    relit = np.clip((out.astype(np.float32) - mean) * gain + mean + shift, 0, 255)
    return _tensor(relit.astype(np.uint8))


def epochs_for(config: ClassifierConfig, images: int) -> int:
    """The fine-tuning epochs: as configured, or enough for about TARGET_STEPS batches."""
    if config.epochs is not None:
        return config.epochs
    batches = max(1, images // config.batch_size)
    return min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / batches)))


def fine_tune(
    network: ClassifierNetwork, split: Split, config: ClassifierConfig, report: Progress | None
) -> tuple[Score, list[dict[str, float]]]:
    """Train every layer with a one-cycle schedule; keep the epoch that validates best.

    Returns the best epoch's validation score and every epoch's figures.
    """
    rng = np.random.default_rng(config.seed)
    epochs = epochs_for(config, len(split.train))
    batch = min(config.batch_size, len(split.train))
    steps_per_epoch = max(1, len(split.train) // batch)
    optimiser = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, config.learning_rate, total_steps=epochs * steps_per_epoch, pct_start=0.15
    )
    best: Score | None = None
    best_state = {k: v.clone() for k, v in network.state_dict().items()}
    history: list[dict[str, float]] = []
    stale = 0
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        network.train()
        order = rng.permutation(len(split.train))
        losses = []
        # Whole batches only: batch normalisation needs more than one image per step.
        for step in range(steps_per_epoch):
            chosen = order[step * batch : (step + 1) * batch]
            logits = network(_augmented(split.train[chosen], rng, config.turns))
            target = torch.from_numpy(split.train_labels[chosen])
            loss = functional.cross_entropy(logits, target, label_smoothing=0.1)
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
        score = evaluate(network, split.val, split.val_labels)
        history.append(
            {"epoch": epoch, "loss": round(float(np.mean(losses)), 4),
             "val_accuracy": round(score.accuracy, 4), "val_loss": round(score.loss, 4),
             "seconds": round(time.perf_counter() - started, 1)}
        )
        if report:
            report(epoch, epochs, f"fine-tune: loss {np.mean(losses):.3f}, "
                   f"validation accuracy {score.accuracy:.3f}")
        if score.beats(best):
            best, stale = score, 0
            best_state = {k: v.clone() for k, v in network.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                break
    network.load_state_dict(best_state)
    assert best is not None  # at least one epoch ran
    return best, history
