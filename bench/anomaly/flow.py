"""A learned family for comparison: a normalising flow over the frozen patch features.

FastFlow-style (Yu et al. 2021): the same EfficientNet-Lite0 patch-feature map as the
shipped memory bank, standardised per channel, goes through a stack of affine coupling
blocks whose subnets are small conv nets (3x3 and 1x1 kernels alternating, mirrored
padding), with a fixed channel permutation after each block and soft-clamped scales. It
is trained on random crops of the good images' feature maps to maximise their likelihood
under a standard normal; a location's score is 0.5 * ||z||^2, smoothed like the shipped
model's map. Accuracy only — it is not shipped. Calibration, metrics and output are those
of ``feature_reconstruction.py`` (15 % of train/good held out for the threshold).

    python bench/anomaly/flow.py /work/shared/datasets/deeppcb_dev/anomaly --grayscale
    python bench/anomaly/flow.py /work/shared/datasets/hazelnut_toy --input-size 512 \
        --strides 8 16 --out /tmp/flow.jsonl

Training stops after ``--steps`` steps or ``--max-train-s`` seconds, whichever comes
first; the steps done are reported with the result.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from evaluate import emit  # noqa: E402
from feature_reconstruction import Fit, Grid, Scorer, add_common_arguments, run_learned  # noqa: E402


class Coupling(nn.Module):
    """Affine coupling: the second half of the channels is scaled and shifted by a conv
    net of the first half, then every channel is permuted."""

    permutation: torch.Tensor

    def __init__(
        self, channels: int, hidden: int, kernel: int, clamp: float, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.split = channels // 2
        self.clamp = clamp
        pad = kernel // 2
        scale_shift = nn.Conv2d(
            hidden, 2 * (channels - self.split), kernel, padding=pad, padding_mode="reflect"
        )
        for parameter in scale_shift.parameters():
            nn.init.zeros_(parameter)  # every block starts as the identity
        self.subnet = nn.Sequential(
            nn.Conv2d(self.split, hidden, kernel, padding=pad, padding_mode="reflect"),
            nn.ReLU(),
            scale_shift,
        )
        self.register_buffer("permutation", torch.randperm(channels, generator=generator))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The transformed map, and the log-determinant per location (B, H, W)."""
        kept, changed = x[:, : self.split], x[:, self.split :]
        scale, shift = self.subnet(kept).chunk(2, dim=1)
        scale = self.clamp * torch.tanh(scale / self.clamp)
        y = torch.cat([kept, changed * torch.exp(scale) + shift], dim=1)
        return y[:, self.permutation], scale.sum(dim=1)


class Flow(nn.Module):
    """Coupling blocks with 3x3 and 1x1 subnets alternating, as in FastFlow."""

    def __init__(self, channels: int, hidden: int, blocks: int, clamp: float, seed: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.blocks = nn.ModuleList(
            Coupling(channels, hidden, 3 if i % 2 == 0 else 1, clamp, generator)
            for i in range(blocks)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z, and the summed log-determinant per location (B, H, W)."""
        log_det = torch.zeros(x.shape[0], *x.shape[2:], device=x.device)
        for block in self.blocks:
            x, block_log_det = block(x)
            log_det = log_det + block_log_det
        return x, log_det


def random_crops(
    maps: torch.Tensor, size: int, count: int, rng: np.random.Generator
) -> torch.Tensor:
    """``count`` crops of ``size``x``size`` cells (or the whole side if smaller)."""
    _, _, rows, cols = maps.shape
    height, width = min(size, rows), min(size, cols)
    crops = []
    for _ in range(count):
        i = int(rng.integers(len(maps)))
        y, x = int(rng.integers(rows - height + 1)), int(rng.integers(cols - width + 1))
        crops.append(maps[i, :, y : y + height, x : x + width])
    return torch.stack(crops).contiguous(memory_format=torch.channels_last)


def flow_fit(args: argparse.Namespace) -> Fit:
    """Train the flow by negative log-likelihood on random crops of the good feature maps."""

    def fit(grids: list[Grid]) -> tuple[Scorer, dict[str, Any]]:
        torch.manual_seed(args.seed)
        maps = torch.from_numpy(np.stack(grids).transpose(0, 3, 1, 2).copy())
        channels = maps.shape[1]
        flow = Flow(channels, args.hidden, args.blocks, args.clamp, args.seed)
        flow = flow.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        optimiser = torch.optim.Adam(flow.parameters(), lr=args.lr, weight_decay=1e-5)
        rng = np.random.default_rng(args.seed)
        started = time.perf_counter()
        steps, losses = 0, []
        while steps < args.steps and time.perf_counter() - started < args.max_train_s:
            z, log_det = flow(random_crops(maps, args.crop, args.batch, rng))
            # NLL per location and channel (constant of the normal density left out).
            loss = (0.5 * (z**2).sum(dim=1) - log_det).mean() / channels
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            steps += 1
        flow.eval()

        def score(grid: Grid) -> Grid:
            x = torch.from_numpy(grid.transpose(2, 0, 1)[np.newaxis].copy())
            with torch.no_grad():
                z, _ = flow(x.contiguous(memory_format=torch.channels_last))
            scores: Grid = (0.5 * (z[0] ** 2).sum(dim=0)).numpy()
            return scores

        return score, {
            "blocks": args.blocks,
            "hidden": args.hidden,
            "clamp": args.clamp,
            "crop": args.crop,
            "batch": args.batch,
            "lr": args.lr,
            "steps": steps,
            "fit_s": round(time.perf_counter() - started, 1),
            "final_nll": round(float(np.mean(losses[-50:])), 4),
        }

    return fit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--blocks", type=int, default=4, help="coupling blocks")
    parser.add_argument("--hidden", type=int, default=64, help="channels inside each subnet")
    parser.add_argument("--clamp", type=float, default=2.0, help="soft bound of the log-scales")
    parser.add_argument("--crop", type=int, default=32, help="side of a training crop (cells)")
    parser.add_argument("--batch", type=int, default=16, help="crops per step")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--steps", type=int, default=2000, help="most training steps")
    parser.add_argument("--max-train-s", type=float, default=120.0,
                        help="stop training after this many seconds")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    emit(run_learned(args, "normalising flow (FastFlow-style)", flow_fit(args)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
