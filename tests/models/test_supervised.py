"""The epoch loop every supervised model trains with."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from inspekt.models.supervised import Score, train_epochs
from inspekt.models.training_options import TrainingOptions


def _regression() -> tuple[torch.nn.Linear, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    inputs = torch.randn(64, 3)
    return torch.nn.Linear(3, 1), inputs, inputs @ torch.tensor([[1.0], [-2.0], [0.5]])


def test_validation_starts_half_way_and_the_best_epoch_is_kept() -> None:
    network, inputs, target = _regression()
    scripted = iter([0.2, 0.9, 0.4])  # epochs 4, 5 and 6 of 6
    kept: dict[int, torch.Tensor] = {}

    def step_loss(chosen: npt.NDArray[np.int64], rng: np.random.Generator) -> torch.Tensor:
        index = torch.from_numpy(chosen)
        return torch.nn.functional.mse_loss(network(inputs[index]), target[index])

    def validate() -> Score:
        kept[len(kept) + 4] = network.weight.detach().clone()
        return Score(next(scripted), 0.0)

    options = TrainingOptions(epochs=6, patience=50, batch_size=16, learning_rate=0.05)
    best, history = train_epochs(
        network, 64, 1, step_loss, validate, options, metric="fit", validate_from=0.5
    )
    assert best.metric == 0.9 and len(history) == 6
    assert ["val_fit" in h for h in history] == [False] * 3 + [True] * 3
    torch.testing.assert_close(network.weight.detach(), kept[5])

