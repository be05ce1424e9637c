"""The detector module end to end: a template project trained from YOLO labels and
evaluated by the CLI, then served over HTTP."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import Server, inspekt_command
from tests.surfaces import surfaces_with_boxes
from tests.test_context_model import analyze, start_server, valid

MODEL = "{input_size: 160, crop_size: 160, epochs: 140, patience: 50}"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(inspekt_command(*args), capture_output=True, text=True, timeout=600)


def write_yolo(folder: Path, seed: int, count: int) -> Path:
    for sub in ("images", "labels"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "classes.txt").write_text("plate\npit\n")
    pairs = surfaces_with_boxes(np.random.default_rng(seed), count)
    for number, (image, boxes) in enumerate(pairs):
        cv2.imwrite(str(folder / "images" / f"{number:03d}.png"), image)
        side = image.shape[0]
        lines = [
            f"{b.label} {(b.x0 + b.x1) / 2 / side} {(b.y0 + b.y1) / 2 / side} "
            f"{(b.x1 - b.x0) / side} {(b.y1 - b.y0) / side}"
            for b in boxes
        ]
        (folder / "labels" / f"{number:03d}.txt").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("detector") / "plates"
    assert cli("init", str(project), "--template", "detector").returncode == 0
    flow = (project / "flow.yaml").read_text()
    assert "type: detector" in flow
    (project / "flow.yaml").write_text(flow + f"    model: {MODEL}\n")
    write_yolo(project / "data", 7, 32)
    done = cli("train", str(project))
    assert done.returncode == 0, done.stderr
    assert "detector: trained on 32 images" in done.stdout
    assert "validation map50" in done.stderr
    return project


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Server]:
    running = start_server(project)
    yield running
    running.stop()


def test_eval_reports_map(project: Path, tmp_path: Path) -> None:
    unseen = write_yolo(tmp_path / "unseen", 8, 12)
    done = cli("eval", str(project), str(unseen), "--json", "--report", str(tmp_path / "report"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "report" / "pr_curve.png").is_file()
    result = json.loads(done.stdout)
    assert result["map50"] >= 0.4 and 0 < result["map50_95"] <= result["map50"]
    assert result["n_images"] == 12 and set(result["ap50_per_class"]) == {"plate", "pit"}


def test_a_malformed_label_stops_training_with_its_line(project: Path, tmp_path: Path) -> None:
    data = write_yolo(tmp_path / "bad", 9, 4)
    (data / "labels" / "002.txt").write_text("0 0.5 0.5 0.2 0.2\n1 0.5 0.5\n")
    done = cli("train", str(project), "--data", str(data))
    assert done.returncode == 1 and "002.txt, line 2" in done.stderr


def test_a_served_image_gets_detector_rectangles(server: Server) -> None:
    image, boxes = surfaces_with_boxes(np.random.default_rng(12), 1)[0]
    context = valid(analyze(server, image))
    assert context["result"] is False and context["detectedRectangles"]
    for rectangle in context["detectedRectangles"]:
        assert rectangle["source"]["type"] == "DETECTOR"
        assert rectangle["classNames"][0]["label"] in {"plate", "pit"}
        assert rectangle["confidence"] >= 0.3


def test_a_black_frame_is_not_judged(server: Server) -> None:
    context = valid(analyze(server, np.zeros((160, 160), np.uint8)))
    assert context["error"] is True and context["result"] is False
    assert "detector module" in context["errors"][0] and context["detectedRectangles"] == []
