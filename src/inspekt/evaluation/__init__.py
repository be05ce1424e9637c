"""Measuring models: dataset readers, metrics, and each task's evaluation and report.

Nothing here runs a flow: a trainable module scores the images itself and feeds
the evaluator, so the numbers are exactly what the flow would produce.
"""

from __future__ import annotations

from .dataset import MvtecDataset, Sample, load_mvtec, read_image, read_mask
from .metrics import auroc, best_f1, f1_at_threshold, pixel_auroc

__all__ = [
    "MvtecDataset",
    "Sample",
    "auroc",
    "best_f1",
    "f1_at_threshold",
    "load_mvtec",
    "pixel_auroc",
    "read_image",
    "read_mask",
]
