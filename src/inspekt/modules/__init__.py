"""Flow module types, one file each. Importing this package registers every built-in type."""

from __future__ import annotations

from . import (
    anomaly,
    classifier,
    code,
    crop,
    evaluate,
    file_log,
    flip,
    gate,
    grayscale,
    image_saver,
    mask,
    normalize,
    parallel,
    resize,
    rotate,
    tcp_output,
    webhook,
)
from .base import (
    Evaluation,
    Module,
    ModuleEnv,
    ModuleOptions,
    TrainableModule,
    TrainingData,
    TrainingSources,
)
from .registry import known_types, lookup, module_type
from .tree import build_modules, close_modules, open_modules, run_modules, walk

__all__ = [
    "Evaluation",
    "Module",
    "ModuleEnv",
    "ModuleOptions",
    "TrainableModule",
    "TrainingData",
    "TrainingSources",
    "anomaly",
    "build_modules",
    "classifier",
    "close_modules",
    "code",
    "crop",
    "evaluate",
    "file_log",
    "flip",
    "gate",
    "grayscale",
    "image_saver",
    "known_types",
    "lookup",
    "mask",
    "module_type",
    "normalize",
    "open_modules",
    "parallel",
    "resize",
    "rotate",
    "run_modules",
    "tcp_output",
    "walk",
    "webhook",
]
