"""Small real models trained once per session on the hazelnut sample in tests/data."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from inspekt.models.anomaly import AnomalyConfig, AnomalyModel

HAZELNUT = Path(__file__).parents[2] / "data" / "hazelnut"

#: Small enough that fitting on five images takes a few seconds on two cores.
TINY = AnomalyConfig(input_size=160, bank_size=600)


def read(path: Path) -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return image


@pytest.fixture(scope="session")
def good_train() -> list[npt.NDArray[np.uint8]]:
    return [read(p) for p in sorted((HAZELNUT / "train" / "good").glob("*.jpg"))]


@pytest.fixture(scope="session")
def good_test() -> list[npt.NDArray[np.uint8]]:
    return [read(p) for p in sorted((HAZELNUT / "test" / "good").glob("*.jpg"))]


@pytest.fixture(scope="session")
def defect_test() -> list[npt.NDArray[np.uint8]]:
    return [read(p) for p in sorted((HAZELNUT / "test" / "colour").glob("*.jpg"))]


@pytest.fixture(scope="session")
def model(good_train: list[npt.NDArray[np.uint8]]) -> AnomalyModel:
    return AnomalyModel.fit(good_train, TINY)


@pytest.fixture(scope="session")
def saved_model(model: AnomalyModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("model")
    model.save(directory)
    return directory
