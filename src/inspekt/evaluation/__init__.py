"""Measuring models: dataset readers, metrics, and each task's evaluation and report.

Nothing here runs a flow: a trainable module scores the images itself and feeds
the evaluator, so the numbers are exactly what the flow would produce.
"""

from __future__ import annotations

from .dataset import MvtecDataset, Sample, load_mvtec, read_image, read_mask
from .metrics import (
    Confusion,
    RegionOverlap,
    ZeroEscape,
    aupro,
    auroc,
    best_f1,
    confusion,
    f1_at_threshold,
    pixel_auroc,
    region_overlap,
    zero_escape,
)

__all__ = [
    "Confusion",
    "MvtecDataset",
    "RegionOverlap",
    "Sample",
    "ZeroEscape",
    "aupro",
    "auroc",
    "best_f1",
    "confusion",
    "f1_at_threshold",
    "load_mvtec",
    "pixel_auroc",
    "read_image",
    "read_mask",
    "region_overlap",
    "zero_escape",
]
