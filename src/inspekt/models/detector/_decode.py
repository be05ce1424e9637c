"""From the network's maps to boxes: the serving side of the detector (numpy and OpenCV).

The network marks each object's centre with a peak in its class's heat map and
predicts the box size (log pixels) and the centre's sub-cell offset there. A peak is
a cell that is the maximum of its 3x3 neighbourhood; the strongest peaks become boxes,
and boxes of a class that overlap a stronger one are dropped (NMS).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ...evaluation.detection import Box, box_iou

#: Stride of the maps relative to the network's input.
STRIDE = 4
#: Lowest confidence read out as a box: low enough for mAP's precision-recall curve.
MIN_CONFIDENCE = 0.05

Maps = npt.NDArray[np.float32]


def decode(
    heat: Maps,
    size: Maps,
    offset: Maps,
    scale: tuple[float, float],
    max_detections: int,
    nms_iou: float,
) -> list[Box]:
    """Boxes from (C, h, w) heat, (2, h, w) log size and (2, h, w) offset maps.

    ``scale`` is (x, y): image pixels per network-input pixel.
    """
    kernel = np.ones((3, 3), np.uint8)
    peaks = np.stack([(channel == cv2.dilate(channel, kernel)) for channel in heat])
    scores = np.where(peaks & (heat >= MIN_CONFIDENCE), heat, 0.0)
    flat = scores.reshape(-1)
    count = min(max_detections * 2, int(np.count_nonzero(flat)))
    if count == 0:
        return []
    best = np.argpartition(-flat, count - 1)[:count]
    labels, rows, cols = np.unravel_index(best, scores.shape)
    width = np.exp(size[0, rows, cols]) * scale[0]
    height = np.exp(size[1, rows, cols]) * scale[1]
    cx = (cols + offset[0, rows, cols]) * STRIDE * scale[0]
    cy = (rows + offset[1, rows, cols]) * STRIDE * scale[1]
    boxes = [
        Box(int(label), float(x - w / 2), float(y - h / 2), float(x + w / 2), float(y + h / 2),
            float(flat[index]))
        for label, x, y, w, h, index in zip(labels, cx, cy, width, height, best, strict=True)
    ]
    return suppressed(boxes, nms_iou)[:max_detections]


def suppressed(boxes: list[Box], iou: float) -> list[Box]:
    """Boxes without those overlapping a stronger box of their class by ``iou`` or more."""
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: -b.confidence):
        same = [k for k in kept if k.label == box.label]
        if same:
            mine = np.array([[box.x0, box.y0, box.x1, box.y1]])
            theirs = np.array([[k.x0, k.y0, k.x1, k.y1] for k in same])
            if box_iou(mine, theirs).max() >= iou:
                continue
        kept.append(box)
    return kept
