"""Train a project's trainable modules from folders of images.

Models are written atomically by each module, so a training that is killed or
fails leaves the previous model in place and the server can still start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ProjectError
from .flow import load_project
from .imageio import list_images, read_image_file
from .modules import TrainableModule
from .modules.base import Progress
from .types import Image

__all__ = ["TrainingRun", "train_project", "trainable_modules"]


@dataclass(frozen=True)
class TrainingRun:
    """What one module was trained on and what it reported."""

    module: str
    good: int
    defects: int
    metadata: dict[str, Any]


def trainable_modules(project_dir: Path, only: str | None = None) -> list[TrainableModule]:
    """The project's trainable modules (or just ``only``), built without their models."""
    # user code is not needed to train models, so it is not executed
    project = load_project(project_dir, allow_code=False, load_models=False)
    modules = [m for m in project.modules if isinstance(m, TrainableModule)]
    if only is not None:
        modules = [m for m in modules if m.name == only]
        if not modules:
            raise ProjectError(f"{project_dir}: no trainable module named {only!r}")
    if not modules:
        raise ProjectError(f"{project_dir}: the flow has no trainable module")
    return modules


def read_images(folder: Path) -> list[Image]:
    paths = list_images(folder)
    if not paths:
        raise ProjectError(f"{folder}: no images (.jpg, .png, .bmp, .tif) found")
    return [read_image_file(path) for path in paths]


def train_project(
    project_dir: Path,
    *,
    module: str | None = None,
    good: Path | None = None,
    defects: Path | None = None,
    progress: Progress | None = None,
) -> list[TrainingRun]:
    """Train every trainable module (or one) and save its model."""
    runs = []
    for trainable in trainable_modules(project_dir, module):
        default_good, default_defects = trainable.default_training_dirs()
        good_dir = good or default_good
        if good_dir is None:
            raise ProjectError(f"module {trainable.name!r}: no folder of good images; use --good")
        good_images = read_images(good_dir)
        defects_dir = defects or default_defects
        defect_images = read_images(defects_dir) if defects_dir else []
        metadata = trainable.train(good_images, defect_images, progress)
        runs.append(TrainingRun(trainable.name, len(good_images), len(defect_images), metadata))
    return runs
