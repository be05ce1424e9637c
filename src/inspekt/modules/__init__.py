"""Flow module types. Importing this package registers every built-in type."""

from __future__ import annotations

from . import anomaly, code
from ._registry import known_types, lookup, register
from .base import Module, ModuleEnv, ModuleOptions, TrainableModule

__all__ = [
    "Module",
    "ModuleEnv",
    "ModuleOptions",
    "TrainableModule",
    "anomaly",
    "code",
    "known_types",
    "lookup",
    "register",
]
