"""The surface module end to end: a template project trained and evaluated by the CLI,
then served over HTTP."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import Server, inspekt_command
from tests.surfaces import surfaces_with_masks
from tests.test_context_model import analyze, start_server, valid

MODEL = "{input_size: 160, epochs: 8, batch_size: 4, patience: 8, decoder_channels: 32}"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(inspekt_command(*args), capture_output=True, text=True, timeout=600)


def write_pairs(folder: Path, seed: int, count: int) -> Path:
    for sub in ("images", "masks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for number, (image, mask) in enumerate(surfaces_with_masks(np.random.default_rng(seed), count)):
        cv2.imwrite(str(folder / "images" / f"{number:03d}.png"), image)
        cv2.imwrite(str(folder / "masks" / f"{number:03d}.png"), mask * 255)
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("surface") / "steel"
    assert cli("init", str(project), "--template", "surface").returncode == 0
    flow = (project / "flow.yaml").read_text()
    assert "type: surface" in flow
    (project / "flow.yaml").write_text(flow + f"    model: {MODEL}\n")
    write_pairs(project / "data", 7, 24)
    done = cli("train", str(project))
    assert done.returncode == 0, done.stderr
    assert "surface: trained on 24 images" in done.stdout
    assert "validation iou" in done.stderr  # each epoch's figures under the bars
    return project


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Server]:
    running = start_server(project)
    yield running
    running.stop()


def test_eval_reports_iou_and_dice(project: Path, tmp_path: Path) -> None:
    unseen = write_pairs(tmp_path / "unseen", 8, 8)
    done = cli("eval", str(project), str(unseen), "--json", "--report", str(tmp_path / "report"))
    assert done.returncode == 0, done.stderr
    drawn = sorted((tmp_path / "report" / "worst").iterdir())
    assert 1 <= len(drawn) <= 8 and drawn[0].name.startswith("1_")
    result = json.loads(done.stdout)
    assert result["iou"] >= 0.2 and result["dice"] >= 0.3 and result["n_images"] == 8
    assert set(result["per_class"]) == {"defect"}


def test_eval_refuses_a_folder_without_masks(project: Path, tmp_path: Path) -> None:
    (tmp_path / "loose").mkdir()
    done = cli("eval", str(project), str(tmp_path / "loose"))
    assert done.returncode == 1 and "not a surface dataset" in done.stderr


def test_a_served_defect_is_boxed_and_named(server: Server) -> None:
    image, mask = surfaces_with_masks(np.random.default_rng(12), 1)[0]
    context = valid(analyze(server, image))
    (found,) = context["surfaceClasses"]
    assert found["label"] == "defect" and context["result"] is False
    assert context["detectedRectangles"]
    ys, xs = np.nonzero(mask)
    touching = 0
    for rectangle in context["detectedRectangles"]:
        assert rectangle["source"]["type"] == "SUPERVISED"
        assert rectangle["classNames"][0]["label"] == "defect"
        x, y, w, h = rectangle["x"], rectangle["y"], rectangle["width"], rectangle["height"]
        touching += bool(((xs >= x) & (xs < x + w) & (ys >= y) & (ys < y + h)).any())
    assert touching >= 1


def test_a_black_frame_is_not_judged(server: Server) -> None:
    context = valid(analyze(server, np.zeros((160, 160), np.uint8)))
    assert context["error"] is True and context["result"] is False
    assert "surface module" in context["errors"][0] and context["surfaceClasses"] == []
