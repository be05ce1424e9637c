"""The classifier's network and its training: the only code of the classifier that needs torch.

A linear head is first fitted on the frozen pretrained features (seconds, and often
enough on textures); when it misses validation images, every layer is trained, and
whichever validates better is kept. Fine-tuning starts from a zeroed head, not the
fitted one: on the PCB defect crops the fitted head's confident logits held the
features back, and needed about twice the epochs to reach the same accuracy.
"""

from __future__ import annotations

import tempfile
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
from ..image_store import ImageStore
from ..supervised import (
    DEVICE,
    Score,
    as_tensor,
    held_back,
    on_device,
    train_epochs,
    training_copies,
)
from ._config import ClassifierConfig

#: Weight decay of the linear head fitted on frozen features.
HEAD_DECAY = 1e-3
#: Validation accuracy at which 'auto' keeps the head and skips fine-tuning: fine-tuning
#: costs minutes on a CPU, for at most one image in a hundred.
HEAD_IS_ENOUGH = 0.99


@dataclass(frozen=True)
class Split:
    """Training and validation images with their class indices."""

    train: ImageStore
    train_labels: npt.NDArray[np.int64]
    val: ImageStore
    val_labels: npt.NDArray[np.int64]


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
    squares: ImageStore, labels: npt.NDArray[np.int64], config: ClassifierConfig
) -> Split:
    """A seeded share of every class held back for validation."""
    held = held_back(labels, config.validation_share, config.seed)
    return Split(squares.view(~held), labels[~held], squares.view(held), labels[held])


def train(
    squares: ImageStore,
    labels: npt.NDArray[np.int64],
    classes: int,
    config: ClassifierConfig,
    progress: Progress | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """Train on the squares; the ONNX bytes and what training found."""
    split = split_for_validation(squares, labels, config)
    torch.manual_seed(config.seed)
    network = ClassifierNetwork(config, classes).to(DEVICE)
    if progress:
        progress(0, 1, "head")
    head = fit_head(network, split, config)
    if progress:
        progress(1, 1, "head")
    chosen, score = "head", head
    history: list[dict[str, float]] = []
    if config.training == "fine-tune" or (
        config.training == "auto" and head.metric < HEAD_IS_ENOUGH
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
        "head_validation_accuracy": round(head.metric, 4),
        "chosen": chosen,
        "validation_accuracy": round(score.metric, 4),
        "epochs": history,
    }
    return onnx_bytes, found


def _in_batches(images: ImageStore, run: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([run(as_tensor(images[i : i + 32])) for i in range(0, len(images), 32)])


def evaluate(
    network: ClassifierNetwork, images: ImageStore, labels: npt.NDArray[np.int64]
) -> Score:
    """Accuracy and mean cross-entropy of the network on images, in eval mode."""
    network.eval()
    logits = _in_batches(images, network)
    target = on_device(labels)
    accuracy = float((logits.argmax(1) == target).float().mean())
    return Score(accuracy, float(functional.cross_entropy(logits, target)))


def fit_head(network: ClassifierNetwork, split: Split, config: ClassifierConfig) -> Score:
    """Fit the linear layer on frozen, pooled features of the images (and their mirrors)."""
    network.eval()
    views: list[Callable[[torch.Tensor], torch.Tensor]] = [network.features]
    if config.turns:
        views.append(lambda images: network.features(images.flip(-1)))  # mirrored
    features = torch.cat([_in_batches(split.train, view) for view in views])
    target = on_device(np.concatenate([split.train_labels] * len(views)))
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


def fine_tune(
    network: ClassifierNetwork, split: Split, config: ClassifierConfig, report: Progress | None
) -> tuple[Score, list[dict[str, float]]]:
    """Train every layer; keep the epoch that validates best."""

    def step_loss(chosen: npt.NDArray[np.int64], rng: np.random.Generator) -> torch.Tensor:
        copies, _ = training_copies(split.train[chosen], rng, config.turns)
        target = on_device(split.train_labels[chosen])
        return functional.cross_entropy(network(copies), target, label_smoothing=0.1)

    return train_epochs(
        network, len(split.train), split.train.shape[1] * split.train.shape[2], step_loss,
        lambda: evaluate(network, split.val, split.val_labels), config, report, "fine-tune",
    )
