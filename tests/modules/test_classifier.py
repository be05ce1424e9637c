"""The classifier module end to end: a template project trained and evaluated by the CLI,
served over HTTP, with a gate branching on its label."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import Server, inspekt_command
from tests.surfaces import Image, labelled_surfaces
from tests.test_context_model import analyze, start_server, valid

FLAG = """
def main(context):
    context["flagged"] = context["classification"]["classifier"]["label"]
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(inspekt_command(*args), capture_output=True, text=True, timeout=600)


def good_and_defect(seed: int, per_class: int) -> dict[str, list[Image]]:
    """Two classes as a line would name them: good surfaces, and pitted or scratched ones."""
    surfaces = labelled_surfaces(np.random.default_rng(seed), per_class)
    half = per_class // 2
    return {"good": surfaces["good"], "defect": surfaces["pit"][:half] + surfaces["scratch"][half:]}


def write_classes(folder: Path, classes: dict[str, list[Image]]) -> Path:
    for name, images in classes.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for number, image in enumerate(images):
            cv2.imwrite(str(folder / name / f"{number:03d}.png"), image)
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("classifier") / "surfaces"
    assert cli("init", str(project), "--template", "classifier").returncode == 0
    flow = (project / "flow.yaml").read_text()
    assert "type: classifier" in flow and "ok_classes: [good]" in flow
    # a head on frozen features trains in seconds; a gate branches on the label
    (project / "flow.yaml").write_text(
        flow.replace("ok_classes: [good]\n", "ok_classes: [good]\n    model: {training: head}\n")
        + "  - type: gate\n    when: [{key: classification.classifier.label, equals: defect}]\n"
        "    flow:\n      - {type: code, name: flag, file: flag.py}\n"
    )
    (project / "flag.py").write_text(FLAG)
    untrained = cli("validate", str(project))
    assert untrained.returncode == 1 and "no trained model" in untrained.stdout + untrained.stderr
    write_classes(project / "images", good_and_defect(11, 16))
    done = cli("train", str(project))
    assert done.returncode == 0, done.stderr
    assert "classifier: trained on 32 images" in done.stdout
    assert "head" in done.stderr  # progress bar
    assert "warning: module 'classifier': class 'defect' has 16 images" in done.stderr
    return project


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Server]:
    running = start_server(project)
    yield running
    running.stop()


def test_eval_reports_accuracy_and_a_confusion_matrix(project: Path, tmp_path: Path) -> None:
    unseen = write_classes(tmp_path / "unseen", good_and_defect(12, 10))
    done = cli("eval", str(project), str(unseen), "--json", "--report", str(tmp_path / "report"))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["accuracy"] >= 0.8 and result["macro_f1"] >= 0.8
    assert result["n_images"] == 20 and result["ms_per_image_p50"] > 0
    assert result["classes"] == ["defect", "good"]
    assert np.sum(result["confusion_matrix"]) == 20
    assert (tmp_path / "report" / "confusion.png").stat().st_size > 1000


def test_eval_refuses_a_folder_that_is_not_a_class_per_folder(
    project: Path, tmp_path: Path
) -> None:
    write_classes(tmp_path / "one", {"good": good_and_defect(13, 2)["good"]})
    done = cli("eval", str(project), str(tmp_path / "one"))
    assert done.returncode == 1
    assert "not a classifier dataset" in done.stderr and "a folder per class" in done.stderr


def test_a_served_defect_is_nok_with_every_class_ranked(server: Server) -> None:
    defect = good_and_defect(14, 2)["defect"][0]
    context = valid(analyze(server, defect))
    assert context["classification"]["classifier"]["label"] == "defect"
    assert context["result"] is False and context["flagged"] == "defect"
    (rectangle,) = context["detectedRectangles"]
    assert rectangle["source"] == {"modelId": 1, "moduleId": 1, "type": "CLASSIFIER"}
    assert (rectangle["x"], rectangle["y"], rectangle["width"], rectangle["height"]) == (
        0, 0, 160, 160,
    )
    labels = [name["label"] for name in rectangle["classNames"]]
    assert labels == ["defect", "good"]
    confidences = [name["confidence"] for name in rectangle["classNames"]]
    assert confidences == sorted(confidences, reverse=True) and sum(confidences) in (99, 100, 101)


def test_a_served_good_surface_passes_and_skips_the_gate(server: Server) -> None:
    context = valid(analyze(server, good_and_defect(15, 2)["good"][0]))
    assert context["classification"]["classifier"]["label"] == "good"
    assert context["result"] is True and "flagged" not in context


def test_a_black_frame_is_not_classified(server: Server) -> None:
    context = valid(analyze(server, np.zeros((160, 160), np.uint8)))
    assert context["error"] is True and context["result"] is False
    assert "cannot inspect" in context["errors"][0] and "classification" not in context
