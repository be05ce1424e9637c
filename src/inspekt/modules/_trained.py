"""What every module with a trained network shares: loading its model folder, saying
what is wrong with it, and refusing images it cannot judge."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import Field

from ..context import record_error
from ..errors import DatasetError, ModelFileError, ProjectError
from ..models import storage
from ..models.input_profile import InputChecks
from ..types import Context, Image
from .base import ModuleEnv, ModuleOptions, TrainableModule, TrainingSources


class FindingOptions(ModuleOptions):
    """Options of modules that report findings of a trained model's classes."""

    nok_classes: list[str] | None = Field(
        None, min_length=1, description="Classes that make the result NOK. Unset: every class."
    )
    input_checks: InputChecks = Field(
        default_factory=InputChecks,
        description="Images too far from the training images (size, aspect, lighting, "
        "degenerate frames, format) are not judged: error, result false.",
    )


class LoadableModel(Protocol):
    kind: ClassVar[str]
    training: dict[str, Any]

    def save(self, directory: str | Path) -> None: ...

    def check_input(self, image: Any, checks: InputChecks | None = None) -> list[str]: ...


Model = TypeVar("Model", bound=LoadableModel)
Data = TypeVar("Data")


class ModelModule(TrainableModule, Generic[Model]):
    """A trainable module whose model lives in ``models/<name>/`` and is opened with it.

    Subclasses set ``model_type`` and, when options name classes, ``class_option``.
    """

    model_type: ClassVar[Any]
    #: The option that names classes of the model (checked against them), if any.
    class_option: ClassVar[str | None] = None

    def __init__(self, options: ModuleOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self.model: Model | None = None

    def problems(self) -> list[str]:
        if not self.model_dir.exists():
            return [self._untrained()]
        try:
            manifest = storage.read_manifest(self.model_dir, self.model_type.kind)
        except ModelFileError as exc:
            return [exc.message]
        return self._unknown_classes(manifest.get("classes") or [])

    def _unknown_classes(self, classes: list[str]) -> list[str]:
        if self.class_option is None:
            return []
        named = getattr(self.options, self.class_option) or []
        unknown = sorted(set(named) - set(classes))
        if not unknown:
            return []
        return [
            f"{self.place}: {self.class_option} {', '.join(unknown)} are not classes of the "
            f"model ({', '.join(classes)})"
        ]

    def open(self) -> None:
        if not self.model_dir.exists():
            raise ProjectError(self._untrained())
        model: Model = self.model_type.load(self.model_dir)
        # models without classes (anomaly) have no class option to check either
        problems = self._unknown_classes(getattr(model, "classes", []))
        if problems:
            raise ProjectError(problems[0])
        self.model = model

    def close(self) -> None:
        self.model = None

    def training_data(
        self, sources: TrainingSources, folder: str, read: Callable[[Path], Data]
    ) -> tuple[Path, Data]:
        """The folder to learn from (``--data``, else the option's folder in the project)
        and what ``read`` makes of it; a folder it refuses stops training with its
        reason."""
        chosen = sources.data or self.env.project_dir / folder
        try:
            return chosen, read(chosen)
        except DatasetError as exc:
            raise ProjectError(exc.message) from exc

    def keep_trained(
        self, model: Model, folders: list[Path], warnings: list[str]
    ) -> dict[str, Any]:
        """Record what the model was made from and what to warn about, save it atomically
        and use it; returns its training metadata."""
        model.training["fingerprint"] = self.fingerprint(folders)
        if self.preparation.skipped:
            warnings.append(
                f"module '{self.name}' learnt from images as read: the Code module(s) "
                f"{', '.join(self.preparation.skipped)} before it are not run in training"
            )
        if warnings:
            model.training["warnings"] = warnings
        model.save(self.model_dir)
        self.model = model
        return dict(model.training)

    def _untrained(self) -> str:
        return f"no trained model in {self.model_dir}: run `inspekt train {self.env.project_dir}`"

    @property
    def _model(self) -> Model:
        if self.model is None:
            raise ProjectError(f"module '{self.name}' is not open (no model loaded)")
        return self.model

    def refused(self, context: Context, image: Image, checks: InputChecks) -> bool:
        """True (with the error recorded and the result NOK) when the model cannot judge
        ``image``: a part that was not inspected never passes."""
        problems = self._model.check_input(image, checks)
        if not problems:
            return False
        kind = self.type_id.split("@")[0]
        message = "; ".join(problems)
        record_error(context, f"{kind} module '{self.name}': cannot inspect: {message}")
        context["result"] = False
        return True
