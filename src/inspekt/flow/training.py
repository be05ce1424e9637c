"""Train a project's trainable modules and evaluate its evaluable ones (trained
modules and readers), wherever they sit in the flow.

Each trainable module says what it learns from and reads the folders that fit;
this layer only finds the modules and hands them the folders named on the
command line. Models are written atomically by each module, so a training that
is killed or fails leaves the previous model in place and the server can still
start. Training never executes Code modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProjectError
from ..modules import Evaluation, Module, TrainingSources, open_modules
from ..modules.base import Progress
from .project import load_project

__all__ = ["TrainingRun", "evaluate_project", "train_project"]


@dataclass(frozen=True)
class TrainingRun:
    """What one module was trained on and what it reported."""

    module: str
    metadata: dict[str, Any]

    @property
    def warnings(self) -> list[str]:
        """What the module found worth saying about its data (too few images, ...)."""
        return [str(warning) for warning in self.metadata.get("warnings") or []]


def train_project(
    project_dir: Path,
    sources: TrainingSources,
    *,
    module: str | None = None,
    progress: Progress | None = None,
) -> list[TrainingRun]:
    """Train every trainable module (or the one named) and save its model."""
    project = load_project(project_dir, allow_code=False)
    modules = project.trainable(module)
    if sources.good or sources.defects or sources.data:  # folders fit one module's data
        _refuse_several(project_dir, modules, "trainable modules")
    runs = []
    for trainable in modules:
        metadata = trainable.fit(sources, progress)
        runs.append(TrainingRun(trainable.name, metadata))
    return runs


def evaluate_project(
    project_dir: Path,
    dataset: Path,
    *,
    module: str | None = None,
    progress: Progress | None = None,
    keep_examples: bool = False,
) -> tuple[str, Evaluation]:
    """Evaluate one module (the only evaluable one, or the one named) on a dataset."""
    project = load_project(project_dir, allow_code=False)
    modules = project.evaluable(module)
    _refuse_several(project_dir, modules, "modules to evaluate")
    (evaluable,) = modules
    open_modules([evaluable])
    try:
        return evaluable.name, evaluable.evaluate(dataset, progress, keep_examples)
    finally:
        evaluable.close()


def _refuse_several(project_dir: Path, modules: Sequence[Module], noun: str) -> None:
    if len(modules) > 1:
        names = ", ".join(m.name for m in modules)
        raise ProjectError(f"{project_dir}: several {noun} ({names}); pick one with --module")
