"""What every flow module is: typed options, a side-effect-free build, then open, run, close.

Life of a module:

1. **Build** — ``Module(options, env)``: validated options in, nothing started.
   ``inspekt validate`` and ``inspekt train`` stop here, so building a project
   never starts threads, child processes or model sessions.
2. **Open** — :meth:`Module.open` starts what running needs (background
   writers, a Code module's child process, a model session).
3. **Run** — :meth:`Module.run` once per image, on the shared context.
4. **Close** — :meth:`Module.close` flushes and stops what ``open`` started.

Evaluable modules implement evaluate, so ``inspekt eval`` measures every one the
same way; trainable modules are evaluable and also declare what data they learn
from and implement fit, for ``inspekt train``. A module that works without
training (a code reader) is evaluable without being trainable.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..context import new_context
from ..models import storage
from ..results import Inspection
from ..types import Context, Image, Progress

#: A mask of an image: uint8, 0 outside (ground truth, or the flow's ignored areas).
Mask = npt.NDArray[np.uint8]

__all__ = [
    "EvaluableModule",
    "Evaluation",
    "ImagePreparation",
    "Module",
    "ModuleEnv",
    "ModuleOptions",
    "Progress",
    "ProjectPath",
    "RegexPattern",
    "TrainableModule",
    "TrainingData",
    "TrainingSources",
]


def _inside_project(value: str) -> str:
    path = Path(value)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError("must be a path inside the project folder")
    return value


#: A relative path that cannot leave the project folder.
ProjectPath = Annotated[str, AfterValidator(_inside_project)]


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return value


#: A regular expression, compiled once at load so a bad one names its field there.
RegexPattern = Annotated[str, AfterValidator(_compiles)]


class ModuleOptions(BaseModel):
    """Options every module has. Subclasses add ``type: Literal["name@N"]`` and their fields.

    That literal is the one place a module type's id is written: registration
    reads it from there.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    name: str | None = Field(
        None,
        pattern=r"^\w[\w .-]*$",
        max_length=100,
        description="Name shown in errors and timings; names the model folder models/<name>.",
    )


@dataclass(frozen=True)
class ModuleEnv:
    """What a module may know about where it runs."""

    project_dir: Path
    allow_code: bool = True
    #: Where the module being built sits, for messages: ``flow.yaml: flow[2]``.
    location: str = "flow.yaml: flow"
    #: Prefix of default names inside a sub-flow, so they stay unique across the tree.
    name_prefix: str = ""
    #: When a list, problems are collected here instead of raised (``inspekt validate``).
    problems: list[str] | None = field(default=None, compare=False)


class Module(ABC):
    """One step of the flow, built once at load and run once per image.

    ``module_id`` is the module's position in the project's flow, counted from 1
    depth first (the order of ``Project.walk()``: a gate, then its sub-flow, then
    what follows it). The project assigns it when it is loaded, so it is stable as
    long as ``flow.yaml`` is; rectangles name the module that found them by it
    (PEKAT's integer ``source.moduleId``). It is 0 for a module built outside a
    project.
    """

    options_model: ClassVar[type[ModuleOptions]]
    #: The type id (``name@N``), set by registration from ``options_model``.
    type_id: ClassVar[str]

    def __init__(self, options: ModuleOptions, env: ModuleEnv, index: int) -> None:
        self.options = options
        self.env = env
        self.name = options.name or f"{env.name_prefix}{options.type.split('@')[0]}{index}"
        self.module_id = 0

    #: True for modules that only change the image (with its mask and heat) the same
    #: way for every image — crop, resize, rotate, flip, grayscale, normalize.
    #: Training and evaluation replay those that run before a trainable module, so its
    #: model learns from the view it will be given.
    prepares_image: ClassVar[bool] = False
    #: True for modules that run the user's code (training never does).
    runs_user_code: ClassVar[bool] = False

    @property
    def place(self) -> str:
        """Where the module sits, for messages: ``flow.yaml: flow[2] (anomaly@1 'nut')``."""
        return f"{self.env.location} ({self.type_id} '{self.name}')"

    @property
    def sub_flows(self) -> list[list[Module]]:
        """The sub-flows this module runs (a gate's, each parallel branch); none by default."""
        return []

    @property
    def children(self) -> list[Module]:
        """Modules of every sub-flow, in order."""
        return [module for flow in self.sub_flows for module in flow]

    def warnings(self) -> list[str]:
        """What is valid but probably not meant (a stale model); said, never refused."""
        return []

    def problems(self) -> list[str]:
        """What would stop this module from opening (a missing model, a broken file), cheaply."""
        return []

    def open(self) -> None:  # noqa: B027 - optional hook
        """Start what running needs (threads, child processes, model sessions)."""

    @abstractmethod
    def run(self, context: Context) -> None:
        """Read and edit the context for one image."""

    def inspection_finished(self, inspection: Inspection) -> None:  # noqa: B027 - optional hook
        """Called once the whole flow finished for an image this module ran on (outputs)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and stop what :meth:`open` started; safe to call when never opened."""


class TrainingData(enum.Enum):
    """What a trainable module learns from; picks the dataset layout it reads."""

    GOOD_IMAGES = "good images (anomaly: a folder, or MVTec AD layout)"
    LABELLED_IMAGES = "images labelled by class (a folder per class)"
    MASKED_IMAGES = "images with masks"
    BOXED_IMAGES = "images with boxes (YOLO or COCO)"


@dataclass(frozen=True)
class TrainingSources:
    """Folders named on the command line; each module reads the ones that fit its data."""

    good: Path | None = None
    defects: Path | None = None
    data: Path | None = None


class Evaluation(Protocol):
    """A module's measured quality on a dataset (``inspekt eval``)."""

    def as_json(self) -> dict[str, Any]:
        """The ``eval --json`` object (keys fixed by the CLI contract)."""

    def write_report(self, folder: Path) -> list[Path]:
        """Plots and examples for a person; returns the files written."""


class ImagePreparation:
    """The image-preparing modules that run before a trainable module, replayed on its data.

    ``skipped`` names modules before it that change images in ways training cannot
    replay (user code, which training never runs).
    """

    def __init__(self, modules: list[Module], skipped: list[str]) -> None:
        self.modules = modules
        self.skipped = skipped

    def __call__(self, image: Image, mask: Mask | None = None) -> tuple[Image, Mask | None]:
        """The image (and a mask of it, e.g. ground truth) as the module will see them."""
        if not self.modules:
            return image, mask
        context = new_context(image, None, {})
        context["mask"] = mask
        for module in self.modules:
            module.run(context)
        return context["image"], context["mask"]


class EvaluableModule(Module):
    """A module ``inspekt eval`` measures on a labelled dataset, as it runs in the flow.

    Its data is seen through the image-preparing modules before it (``preparation``),
    so the numbers are those of the images the flow would hand it.
    """

    def __init__(self, options: ModuleOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        #: Set by the project from the modules before this one; nothing outside a project.
        self.preparation = ImagePreparation([], [])

    @abstractmethod
    def evaluate(
        self, dataset: Path, progress: Progress | None = None, keep_examples: bool = False
    ) -> Evaluation:
        """Measure the opened module on a labelled dataset, exactly as it runs in the flow."""


class TrainableModule(EvaluableModule):
    """A module with a model learnt from images, kept in ``models/<name>/``.

    Training records a fingerprint of what the model was made from (the options
    it depends on and the training folders' files), so that ``validate`` and
    ``serve`` can say when a model no longer matches its project.
    """

    learns_from: ClassVar[TrainingData]

    @property
    def model_dir(self) -> Path:
        return self.env.project_dir / "models" / self.name

    def training_options(self) -> dict[str, Any]:
        """The options the trained model depends on: changing one makes the model stale."""
        return self.options.model_dump(mode="json", exclude={"type", "name"})

    def _options_digest(self) -> str:
        """The model's own options and the preparing modules' before it: what it learnt with."""
        made_with = {
            "options": self.training_options(),
            "preparation": [
                {"type": m.type_id, **m.options.model_dump(mode="json", exclude={"type", "name"})}
                for m in self.preparation.modules
            ],
        }
        return hashlib.sha256(json.dumps(made_with, sort_keys=True).encode()).hexdigest()

    def fingerprint(self, folders: list[Path]) -> dict[str, Any]:
        """What the model is being made from, for :meth:`warnings` to compare with later."""
        resolved = [folder.resolve() for folder in folders]
        project = self.env.project_dir.resolve()
        return {
            "options_sha256": self._options_digest(),
            # inside the project: relative, so a copied or moved project still checks its own
            "folders": [
                str(folder.relative_to(project)) if folder.is_relative_to(project) else str(folder)
                for folder in resolved
            ],
            "files_sha256": storage.files_digest(resolved),
        }

    def warnings(self) -> list[str]:
        recorded = storage.read_training(self.model_dir).get("fingerprint")
        if not isinstance(recorded, dict):
            return []  # no model yet, or one trained before fingerprints were kept
        changed = []
        if recorded.get("options_sha256") != self._options_digest():
            changed.append("its options (or the image preparation before it) in flow.yaml")
        folders = [self.env.project_dir / folder for folder in recorded.get("folders") or []]
        if folders and all(folder.is_dir() for folder in folders):
            if storage.files_digest(folders) != recorded.get("files_sha256"):
                changed.append(f"the training images in {', '.join(map(str, folders))}")
        if not changed:
            return []
        return [
            f"the model in {self.model_dir} is stale: {' and '.join(changed)} changed since "
            f"training; run `inspekt train {self.env.project_dir} --module {self.name}`"
        ]

    @abstractmethod
    def fit(self, sources: TrainingSources, progress: Progress | None = None) -> dict[str, Any]:
        """Learn from the data, save the model atomically, return training metadata."""
