"""ClassifierModel end to end on generated steel surfaces: learns, saves, loads, refuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspekt.errors import ModelFileError, TrainingError
from inspekt.models.classifier import ClassifierConfig, ClassifierModel
from tests.surfaces import Image, labelled_surfaces

#: A head on frozen features, at the surfaces' own size: fits in seconds.
HEAD = ClassifierConfig(training="head")


def flatten(classes: dict[str, list[Image]]) -> tuple[list[Image], list[int], list[str]]:
    names = sorted(classes)
    images = [image for name in names for image in classes[name]]
    labels = [index for index, name in enumerate(names) for _ in classes[name]]
    return images, labels, names


@pytest.fixture(scope="module")
def model() -> ClassifierModel:
    images, labels, names = flatten(labelled_surfaces(np.random.default_rng(1), 16))
    return ClassifierModel.fit(images, labels, names, HEAD)


def test_tells_pits_scratches_and_good_surfaces_apart(model: ClassifierModel) -> None:
    unseen = labelled_surfaces(np.random.default_rng(2), 8)
    right = sum(
        model.predict(image).label == name for name, images in unseen.items() for image in images
    )
    assert right / 24 >= 0.85
    assert model.config.input_size == 160  # the images' own size, not blown up
    assert model.training["chosen"] == "head"


def test_every_class_is_ranked_with_probabilities_that_sum_to_one(model: ClassifierModel) -> None:
    prediction = model.predict(labelled_surfaces(np.random.default_rng(3), 1)["pit"][0])
    assert sorted(label for label, _ in prediction.ranked) == ["good", "pit", "scratch"]
    probabilities = [p for _, p in prediction.ranked]
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-4)
    assert prediction.confidence == probabilities[0]


def test_save_and_load_give_the_same_answers(model: ClassifierModel, tmp_path: Path) -> None:
    model.save(tmp_path)
    loaded = ClassifierModel.load(tmp_path)
    image = labelled_surfaces(np.random.default_rng(4), 1)["scratch"][0]
    assert loaded.classes == model.classes
    before, after = model.predict(image), loaded.predict(image)
    assert [label for label, _ in after.ranked] == [label for label, _ in before.ranked]
    assert [p for _, p in after.ranked] == pytest.approx([p for _, p in before.ranked])
    network = next(tmp_path.glob("network-*.onnx"))
    network.write_bytes(network.read_bytes()[:-10])
    with pytest.raises(ModelFileError, match="truncated"):
        ClassifierModel.load(tmp_path)


def test_a_black_frame_is_not_classified(model: ClassifierModel) -> None:
    problems = model.check_input(np.zeros((160, 160), np.uint8))
    assert problems and "black" in " ".join(problems)


def test_fine_tuning_keeps_its_best_epoch_and_reports_each_one() -> None:
    images, labels, names = flatten(labelled_surfaces(np.random.default_rng(5), 6))
    stages: list[str] = []
    config = ClassifierConfig(training="fine-tune", epochs=2, input_size=96, batch_size=8)
    fitted = ClassifierModel.fit(images, labels, names, config, lambda d, t, s: stages.append(s))
    assert fitted.training["chosen"] == "fine-tune"
    epochs = fitted.training["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert fitted.training["validation_accuracy"] == max(e["val_accuracy"] for e in epochs)
    assert sum(s.startswith("fine-tune: loss") for s in stages) == 2


def test_each_class_needs_two_images() -> None:
    images = labelled_surfaces(np.random.default_rng(6), 2)["good"]
    with pytest.raises(TrainingError, match="class 'pit' has 1 image"):
        ClassifierModel.fit([*images, images[0]], [0, 0, 1], ["good", "pit"], HEAD)
    with pytest.raises(TrainingError, match="two or more classes"):
        ClassifierModel.fit(images, [0, 0], ["good"], HEAD)
