"""What the supervised models share once trained: one ONNX network, its classes, its
input profile, and a crash-safe model folder.

Importable without torch: serving loads these models with onnxruntime only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import ModelFileError, TrainingError
from ..imaging.render import as_rgb
from ..types import Image, Progress
from . import storage
from .image_store import ImageStore
from .input_profile import (
    InputChecks,
    InputProfile,
    InputStats,
    check_input,
    input_stats,
    typical_side,
)
from .onnx import open_session

__all__ = ["NetworkModel", "network_input", "read_squares", "with_input_size"]


class SizedConfig(Protocol):
    """A model config with an input size (set at training when left to the data)."""

    @property
    def input_size(self) -> int | None: ...

    @property
    def seed(self) -> int: ...

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...

    def model_copy(self, *, update: dict[str, Any]) -> Any: ...


Config = TypeVar("Config", bound=SizedConfig)
Self = TypeVar("Self", bound="NetworkModel[Any]")


def network_input(image: Image, size: int) -> npt.NDArray[np.uint8]:
    """Any uint8 image as the (S, S, 3) RGB square the networks take."""
    rgb = as_rgb(image)
    shrinking = rgb.shape[0] * rgb.shape[1] > size * size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(rgb, (size, size), interpolation=interpolation), np.uint8)


def with_input_size(
    config: Config, count: int, image_at: Callable[[int], Image], bounds: tuple[int, int]
) -> Config:
    """The config, with its input size chosen from the training images when left unset."""
    if config.input_size is not None:
        return config
    side = typical_side(count, image_at, np.random.default_rng(config.seed), bounds)
    chosen: Config = config.model_copy(update={"input_size": side})
    return chosen


def read_squares(
    images: Iterable[Image], count: int, size: int, progress: Progress | None
) -> tuple[ImageStore, list[InputStats]]:
    """Every training image read once: its square at the network's size, kept in a
    scratch store, and its input statistics."""
    store = ImageStore((size, size, 3))
    stats = []
    for done, image in enumerate(images, 1):
        stats.append(input_stats(image))
        store.append(network_input(image, size))
        if progress:
            progress(done, count, "read")
    return store, stats


class NetworkModel(Generic[Config]):
    """A trained network (ONNX), the classes it answers with, and what its inputs looked like.

    Subclasses name their ``kind`` (the manifest's) and ``config_type``.
    """

    kind: ClassVar[str]
    config_type: ClassVar[type[Any]]
    #: Fewest classes a saved model may have.
    min_classes: ClassVar[int] = 1

    def __init__(
        self,
        config: Config,
        classes: Sequence[str],
        network_onnx: bytes,
        input_profile: InputProfile,
        training: dict[str, Any] | None = None,
    ) -> None:
        if config.input_size is None:
            raise TrainingError(f"a {self.kind} model needs its input size")
        self.config = config
        self.classes = list(classes)
        self.input_profile = input_profile
        self.training = training or {}
        self._network_onnx = network_onnx
        self._session = open_session(network_onnx)

    @property
    def input_size(self) -> int:
        assert self.config.input_size is not None  # checked in __init__
        return self.config.input_size

    def check_input(self, image: npt.NDArray[Any], checks: InputChecks | None = None) -> list[str]:
        """Why ``image`` is too far from the training images to be judged; empty if not."""
        return check_input(image, self.input_profile, checks)

    def run_network(self, image: Image) -> list[npt.NDArray[np.float32]]:
        """The network's outputs for one image, resized to its square."""
        square = network_input(image, self.input_size)
        batch = np.ascontiguousarray(square.transpose(2, 0, 1)[np.newaxis], np.float32)
        outputs: list[npt.NDArray[np.float32]] = self._session.run(None, {"image": batch})
        return outputs

    def save(self, directory: str | Path) -> None:
        """Write the model atomically: a killed save leaves the previous model loadable."""
        manifest = {
            "kind": self.kind,
            "config": self.config.model_dump(mode="json"),
            "classes": self.classes,
            "input_profile": self.input_profile.as_json(),
        }
        payloads = {"network": (".onnx", self._network_onnx)}
        storage.save_model(Path(directory), payloads, manifest, self.training)

    @classmethod
    def load(cls: type[Self], directory: str | Path) -> Self:
        """Load a saved model; needs onnxruntime, OpenCV and numpy only (no torch)."""
        directory = Path(directory)
        manifest = storage.read_manifest(directory, cls.kind)
        where = directory / storage.MANIFEST
        try:
            config = cls.config_type.model_validate(manifest["config"])
            classes = [str(name) for name in manifest["classes"]]
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: invalid config or classes ({error})") from error
        if config.input_size is None or len(classes) < cls.min_classes:
            raise ModelFileError(
                f"{where}: needs an input size and {cls.min_classes} or more classes"
            )
        profile = InputProfile.from_json(manifest.get("input_profile"), where)
        onnx_path, network_onnx = storage.read_payload(directory, manifest, "network")
        try:
            return cls(config, classes, network_onnx, profile, storage.read_training(directory))
        except Exception as error:  # onnxruntime has its own classes (InvalidProtobuf, Fail...)
            raise ModelFileError(f"{onnx_path}: not a loadable ONNX model ({error})") from error
