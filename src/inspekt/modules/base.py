"""What every flow module is: typed options plus a ``run`` on the context."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..types import Context, Image

__all__ = ["Module", "ModuleEnv", "ModuleOptions", "Progress", "ProjectPath", "TrainableModule"]

#: Training progress: (done, total, stage).
Progress = Callable[[int, int, str], None]


def _inside_project(value: str) -> str:
    path = Path(value)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError("must be a path inside the project folder")
    return value


#: A relative path that cannot leave the project folder.
ProjectPath = Annotated[str, AfterValidator(_inside_project)]


class ModuleOptions(BaseModel):
    """Options every module has. Subclasses add a literal ``type`` and their own fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    name: str | None = Field(None, description="Name shown in errors and used for model folders.")


@dataclass(frozen=True)
class ModuleEnv:
    """What a module may know about where it runs."""

    project_dir: Path
    allow_code: bool = True
    #: False while training: models are about to be (re)made, not read.
    load_models: bool = True
    #: Where the module being built sits, for messages: ``flow.yaml: flow[2]``.
    location: str = "flow.yaml: flow"
    #: When a list, problems are collected here instead of raised (``inspekt validate``).
    problems: list[str] | None = field(default=None, compare=False)


class Module(ABC):
    """One step of the flow, built once at load and run once per image."""

    options_model: ClassVar[type[ModuleOptions]]
    #: Trainable modules have a model folder and take part in ``inspekt train``.
    trainable: ClassVar[bool] = False

    def __init__(self, options: ModuleOptions, env: ModuleEnv, index: int) -> None:
        self.options = options
        self.env = env
        self.name = options.name or f"{options.type.split('@')[0]}{index}"

    @abstractmethod
    def run(self, context: Context) -> None:
        """Read and edit the context for one image."""

    def close(self) -> None:
        """Release resources and flush background work; called once at shutdown."""


class TrainableModule(Module):
    """A module with a model learnt from images, kept in ``models/<name>/``."""

    trainable: ClassVar[bool] = True

    @property
    def model_dir(self) -> Path:
        return self.env.project_dir / "models" / self.name

    @abstractmethod
    def default_training_dirs(self) -> tuple[Path | None, Path | None]:
        """Folders of good and defect images named in the options (None when not set)."""

    @abstractmethod
    def train(
        self, good: Sequence[Image], defects: Sequence[Image], progress: Progress | None = None
    ) -> dict[str, object]:
        """Learn from images, save the model atomically, return training metadata."""
