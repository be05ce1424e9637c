"""ClassifierModel: fit on images labelled by class, save/load a crash-safe folder, predict."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from ...errors import ModelFileError, TrainingError
from ...imaging.render import as_rgb
from ...types import Image, Progress
from .. import storage
from ..input_profile import (
    InputChecks,
    InputProfile,
    InputStats,
    check_input,
    input_stats,
    typical_side,
)
from ..onnx import open_session
from ._config import ClassifierConfig

KIND = "inspekt.classifier.efficientnet"
#: Bounds of the input size chosen from the data: small crops are not blown up past
#: 64 px, and large frames stop at 320 px, which keeps training within minutes on CPU.
AUTO_INPUT_RANGE = (64, 320)


class ClassifierPrediction(NamedTuple):
    """Every class with its probability, most likely first."""

    ranked: list[tuple[str, float]]

    @property
    def label(self) -> str:
        return self.ranked[0][0]

    @property
    def confidence(self) -> float:
        return self.ranked[0][1]


def network_input(image: Image, size: int) -> npt.NDArray[np.uint8]:
    """Any uint8 image as the (S, S, 3) RGB square the network takes."""
    rgb = as_rgb(image)
    shrinking = rgb.shape[0] * rgb.shape[1] > size * size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(rgb, (size, size), interpolation=interpolation), np.uint8)


class ClassifierModel:
    """A pretrained network fine-tuned (or given a linear head) to tell classes apart."""

    kind = KIND

    def __init__(
        self,
        config: ClassifierConfig,
        classes: Sequence[str],
        network_onnx: bytes,
        input_profile: InputProfile,
        training: dict[str, Any] | None = None,
    ) -> None:
        if config.input_size is None:
            raise TrainingError("a classifier model needs its input size")
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
        """Why ``image`` is too far from the training images to be classified; empty if not."""
        return check_input(image, self.input_profile, checks)

    def predict(self, image: Image) -> ClassifierPrediction:
        """Class probabilities of one BGR (or grayscale) uint8 image of any size."""
        square = network_input(image, self.input_size)
        batch = np.ascontiguousarray(square.transpose(2, 0, 1)[np.newaxis], np.float32)
        (probabilities,) = self._session.run(None, {"image": batch})
        order = np.argsort(-probabilities[0], kind="stable")
        return ClassifierPrediction([(self.classes[i], float(probabilities[0][i])) for i in order])

    # ---- fit -----------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        images: Sequence[Image],
        labels: Sequence[int],
        classes: Sequence[str],
        config: ClassifierConfig | None = None,
        progress: Progress | None = None,
    ) -> ClassifierModel:
        """Train on ``images`` (read one at a time) labelled by index into ``classes``."""
        from ._network import train  # torch is needed to train only

        config = config or ClassifierConfig()
        started = time.perf_counter()
        labels_array = np.asarray(labels, np.int64)
        _check_counts(labels_array, classes)
        if config.input_size is None:
            rng = np.random.default_rng(config.seed)
            size = typical_side(images, rng, AUTO_INPUT_RANGE)
            config = config.model_copy(update={"input_size": size})
        squares, stats = _read(images, config.input_size or 0, progress)
        network_onnx, found = train(squares, labels_array, len(classes), config, progress)
        training = {
            "images": len(labels_array),
            "per_class": {name: int((labels_array == i).sum()) for i, name in enumerate(classes)},
            **found,
            "duration_s": round(time.perf_counter() - started, 1),
            **storage.provenance(("inspekt", "numpy", "onnxruntime", "torch", "onnx")),
        }
        return cls(config, classes, network_onnx, InputProfile.from_stats(stats), training)

    # ---- save / load ---------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        """Write the model atomically: a killed save leaves the previous model loadable."""
        manifest = {
            "kind": KIND,
            "config": self.config.model_dump(mode="json"),
            "classes": self.classes,
            "input_profile": self.input_profile.as_json(),
        }
        payloads = {"network": (".onnx", self._network_onnx)}
        storage.save_model(Path(directory), payloads, manifest, self.training)

    @classmethod
    def load(cls, directory: str | Path) -> ClassifierModel:
        """Load a saved model; needs onnxruntime and numpy only (no torch)."""
        directory = Path(directory)
        manifest = storage.read_manifest(directory, KIND)
        where = directory / storage.MANIFEST
        try:
            config = ClassifierConfig.model_validate(manifest["config"])
            classes = [str(name) for name in manifest["classes"]]
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: invalid config or classes ({error})") from error
        if config.input_size is None or len(classes) < 2:
            raise ModelFileError(f"{where}: needs an input size and two or more classes")
        profile = InputProfile.from_json(manifest.get("input_profile"), where)
        onnx_path, network_onnx = storage.read_payload(directory, manifest, "network")
        try:
            model = cls(config, classes, network_onnx, profile, storage.read_training(directory))
        except Exception as error:  # onnxruntime has its own classes (InvalidProtobuf, Fail...)
            raise ModelFileError(f"{onnx_path}: not a loadable ONNX model ({error})") from error
        outputs = model._session.get_outputs()[0].shape
        if outputs[-1] != len(classes):
            raise ModelFileError(
                f"{onnx_path}: gives {outputs[-1]} probabilities for {len(classes)} classes"
            )
        return model


def _check_counts(labels: npt.NDArray[np.int64], classes: Sequence[str]) -> None:
    if len(classes) < 2:
        raise TrainingError(f"a classifier needs two or more classes, got {list(classes)}")
    for index, name in enumerate(classes):
        count = int((labels == index).sum())
        if count < 2:
            raise TrainingError(
                f"class '{name}' has {count} image(s); each class needs 2 or more "
                "(one is held back to validate)"
            )


def _read(
    images: Sequence[Image], size: int, progress: Progress | None
) -> tuple[npt.NDArray[np.uint8], list[InputStats]]:
    """Every image once: its square at the network's size, and its input statistics."""
    stats: list[InputStats] = []
    squares: list[npt.NDArray[np.uint8]] = []
    for done, image in enumerate(images, 1):
        stats.append(input_stats(image))
        squares.append(network_input(image, size))
        if progress:
            progress(done, len(images), "read")
    return np.stack(squares), stats
