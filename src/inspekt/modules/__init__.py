"""Flow module types. Importing this package registers every built-in type."""

from __future__ import annotations

from . import (
    anomaly,
    code,
    crop,
    evaluate,
    file_log,
    flip,
    grayscale,
    image_saver,
    mask,
    normalize,
    resize,
    rotate,
    tcp_output,
    webhook,
)
from ._registry import known_types, lookup, register
from .base import Module, ModuleEnv, ModuleOptions, TrainableModule

__all__ = [
    "Module",
    "ModuleEnv",
    "ModuleOptions",
    "TrainableModule",
    "anomaly",
    "code",
    "crop",
    "evaluate",
    "file_log",
    "flip",
    "grayscale",
    "image_saver",
    "mask",
    "normalize",
    "resize",
    "rotate",
    "tcp_output",
    "webhook",
    "known_types",
    "lookup",
    "register",
]
