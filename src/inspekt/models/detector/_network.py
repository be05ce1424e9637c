"""The detector's network and its training: the only code of the detector that needs torch.

Centre points, as in CenterNet: on the stride-4 map of a feature pyramid, one heat map
per class peaks at each object's centre (a Gaussian the size of the box as target,
penalty-reduced focal loss), and two more maps give the box's log width and height and
the centre's offset inside its cell, learnt at the centres only. Anchor-free, one
stage, and every small defect keeps a cell of its own at stride 4. Training sees
crops of the images (same scale, fraction of the cost), mirrored and relit.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from ...evaluation.detection import Box, average_precision
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
from ._config import DetectorConfig
from ._decode import STRIDE, decode

LEVELS = (4, 8, 16, 32)
#: Starting bias of the heat maps: sigmoid 0.1, as CenterNet starts, so the first steps
#: are not swamped by the loss of the many background cells.
HEAT_PRIOR = -math.log((1 - 0.1) / 0.1)

#: Share of the epochs trained before validation starts: at 640 px validating costs a
#: third of an epoch, and mid-schedule the map swings by ±0.15 from epoch to epoch
#: while the learning rate is high (deeppcb_dev), so early figures choose nothing.
VALIDATED_FROM = 0.5

#: Most epochs when ``steps`` sets them: a small set takes more epochs to reach its steps,
#: and validation, from half way only, costs less per epoch than elsewhere.
MAX_EPOCHS = 60

#: One image's boxes as (N, 5): class, x0, y0, x1, y1 at the network's input scale.
BoxArray = npt.NDArray[np.float32]


def _head(width: int, outputs: int, bias: float = 0.0) -> torch.nn.Sequential:
    last = torch.nn.Conv2d(width, outputs, 1)
    assert last.bias is not None  # Conv2d has one unless told otherwise
    torch.nn.init.constant_(last.bias, bias)
    return torch.nn.Sequential(
        torch.nn.Conv2d(width, width, 3, padding=1), torch.nn.ReLU(inplace=True), last
    )


class DetectorNetwork(torch.nn.Module):
    """RGB 0..255 in; per-class centre heat (sigmoid), log size and offset at stride 4 out."""

    def __init__(self, config: DetectorConfig, classes: int) -> None:
        super().__init__()
        width = config.decoder_channels
        self.pyramid = FeaturePyramid(config, LEVELS, width)
        self.heat = _head(width, classes, HEAT_PRIOR)
        self.size = _head(width, 2)
        self.offset = _head(width, 2)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = self.pyramid(image)
        return self.heat(features), self.size(features), self.offset(features)


class _Exported(torch.nn.Module):
    def __init__(self, network: DetectorNetwork) -> None:
        super().__init__()
        self.network = network

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        heat, size, offset = self.network(image)
        return torch.sigmoid(heat), size, offset


def targets(
    boxes: Sequence[BoxArray], classes: int, side: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Heat (B, C, h, w), log size and offset (B, 2, h, w), and where objects are (B, h, w)."""
    cells = side // STRIDE
    heat = np.zeros((len(boxes), classes, cells, cells), np.float32)
    size = np.zeros((len(boxes), 2, cells, cells), np.float32)
    offset = np.zeros((len(boxes), 2, cells, cells), np.float32)
    centre = np.zeros((len(boxes), cells, cells), bool)
    ys, xs = np.mgrid[0:cells, 0:cells]
    for image, found in enumerate(boxes):
        for label, x0, y0, x1, y1 in found:
            cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
            col, row = min(int(cx), cells - 1), min(int(cy), cells - 1)
            w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
            sigma = max(0.8, min(w, h) / STRIDE / 6)
            spot = np.exp(-((xs - col) ** 2 + (ys - row) ** 2) / (2 * sigma**2))
            heat[image, int(label)] = np.maximum(heat[image, int(label)], spot)
            size[image, :, row, col] = (math.log(w), math.log(h))
            offset[image, :, row, col] = (cx - col, cy - row)
            centre[image, row, col] = True
    return on_device(heat), on_device(size), on_device(offset), on_device(centre)


def _loss(
    outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    truth: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
) -> torch.Tensor:
    """Penalty-reduced focal loss on the heat, L1 on size and offset at the centres."""
    logits, size, offset = outputs
    heat, true_size, true_offset, centre = truth
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    positive = heat >= 1.0 - 1e-4
    focal = torch.where(
        positive,
        -((1 - p) ** 2) * torch.log(p),
        -((1 - heat) ** 4) * p**2 * torch.log(1 - p),
    ).sum()
    objects = max(1, int(centre.sum()))
    mask = centre[:, None].expand_as(size)
    size_loss = (size - true_size).abs()[mask].sum()
    offset_loss = (offset - true_offset).abs()[mask].sum()
    return (focal + 0.1 * size_loss + offset_loss) / objects


def _crop(
    image: npt.NDArray[np.uint8], boxes: BoxArray, side: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.uint8], BoxArray]:
    """A random ``side`` crop, usually around an object, with the boxes whose centre is in
    it (clipped to it), then mirrored at random."""
    full = image.shape[0]
    if full > side:
        if len(boxes) and rng.random() < 0.8:
            _, x0, y0, x1, y1 = boxes[rng.integers(len(boxes))]
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            left = int(np.clip(cx - rng.uniform(0.1, 0.9) * side, 0, full - side))
            top = int(np.clip(cy - rng.uniform(0.1, 0.9) * side, 0, full - side))
        else:
            left, top = (int(v) for v in rng.integers(0, full - side + 1, 2))
        image = image[top : top + side, left : left + side]
        centres_x = (boxes[:, 1] + boxes[:, 3]) / 2 - left
        centres_y = (boxes[:, 2] + boxes[:, 4]) / 2 - top
        inside = (centres_x >= 0) & (centres_x < side) & (centres_y >= 0) & (centres_y < side)
        boxes = boxes[inside] - np.array([0, left, top, left, top], np.float32)
        boxes[:, 1:] = np.clip(boxes[:, 1:], 0, side)
    boxes = boxes.copy()
    if rng.random() < 0.5:
        image = image[:, ::-1]
        boxes[:, [1, 3]] = side - boxes[:, [3, 1]]
    if rng.random() < 0.5:
        image = image[::-1]
        boxes[:, [2, 4]] = side - boxes[:, [4, 2]]
    return np.ascontiguousarray(image), boxes


def detect(
    network: DetectorNetwork, squares: ImageStore, config: DetectorConfig
) -> list[list[Box]]:
    """Boxes on each square (network input scale), through the serving decoder."""
    found = []
    with torch.no_grad():
        for square in squares:
            logits, size, offset = network(as_tensor(square[np.newaxis]))
            heat = torch.sigmoid(logits)[0].cpu().numpy()
            found.append(decode(
                heat, size[0].cpu().numpy(), offset[0].cpu().numpy(), (1.0, 1.0),
                config.max_detections, config.nms_iou,
            ))
    return found


def _validate(
    network: DetectorNetwork, squares: ImageStore, boxes: Sequence[BoxArray], classes: int,
    config: DetectorConfig,
) -> Score:
    """mAP at IoU 0.5 on the held-back images."""
    found = detect(network, squares, config)
    truth = [[Box(int(b[0]), *map(float, b[1:])) for b in image] for image in boxes]
    values = [
        ap for label in range(classes)
        if (ap := average_precision(found, truth, label, 0.5)) is not None
    ]
    return Score(float(np.mean(values)) if values else 0.0, 0.0)


def train(
    squares: ImageStore,
    boxes: list[BoxArray],
    classes: int,
    config: DetectorConfig,
    progress: Progress | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """Train on squares and their boxes (input scale); the ONNX bytes and what it found."""
    held = held_back(np.array([len(b) > 0 for b in boxes], np.int64),
                     config.validation_share, config.seed)
    train_index = np.flatnonzero(~held)
    side = min(config.crop_size, squares.shape[1])
    torch.manual_seed(config.seed)
    network = DetectorNetwork(config, classes).to(DEVICE)

    def step_loss(chosen: npt.NDArray[np.int64], rng: np.random.Generator) -> torch.Tensor:
        crops, crop_boxes = zip(
            *(_crop(squares[train_index[i]], boxes[train_index[i]], side, rng) for i in chosen),
            strict=True,
        )
        copies, _ = training_copies(np.stack(crops), rng, turns=False)
        return _loss(network(copies), targets(crop_boxes, classes, side))

    score, history = train_epochs(
        network, len(train_index), side * side, step_loss,
        lambda: _validate(network, squares.view(held), [boxes[i] for i in np.flatnonzero(held)],
                          classes, config),
        config, progress, "train", "map50", target_steps=config.steps,
        validate_from=VALIDATED_FROM, max_epochs=MAX_EPOCHS,
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "detector.onnx"
        export_onnx(
            _Exported(network),
            torch.zeros(1, 3, BUILD_SIZE, BUILD_SIZE),
            path,
            "heat",
            {"image": {0: "batch", 2: "height", 3: "width"}},
            extra_outputs=("size", "offset"),
        )
        onnx_bytes = path.read_bytes()
    found = {
        "validation_images": int(held.sum()),
        "validation_map50": round(score.metric, 4),
        "epochs": history,
    }
    return onnx_bytes, found
