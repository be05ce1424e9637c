"""Preprocessing modules on real images, and coordinates after them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

from inspekt import FlowRunner, load_project
from tests.conftest import Server, decode, encode, real_image, write_project


def run_flow(
    tmp_path: Path, flow: str, image: np.ndarray, files: dict[str, str] | None = None
) -> dict:
    with FlowRunner(load_project(write_project(tmp_path / "p", flow, files))) as runner:
        return runner.analyze(image)


def test_crop(tmp_path: Path) -> None:
    image = real_image()
    context = run_flow(
        tmp_path, "flow:\n  - {type: crop, x: 100, y: 50, width: 200, height: 120}\n", image
    )
    assert np.array_equal(context["image"], image[50:170, 100:300])
    assert context["imageShape"] == {"height": 120, "width": 200}


def test_crop_is_clipped_and_outside_is_an_error(tmp_path: Path) -> None:
    image = real_image()
    h, w = image.shape[:2]
    context = run_flow(
        tmp_path, f"flow:\n  - {{type: crop, x: {w - 10}, y: 0, width: 500, height: 20}}\n", image
    )
    assert context["image"].shape == (20, 10, 3)
    context = run_flow(
        tmp_path / "b", f"flow:\n  - {{type: crop, x: {w}, y: 0, width: 5, height: 5}}\n", image
    )
    assert context["error"] is True and "outside" in context["errors"][0]
    assert context["result"] is False  # the image was not inspected: never a silent OK


@pytest.mark.parametrize(
    ("options", "shape"),
    [("scale: 0.5", (256, 256)), ("width: 128", (128, 128)), ("width: 100, height: 40", (40, 100))],
)
def test_resize(tmp_path: Path, options: str, shape: tuple[int, int]) -> None:
    image = real_image()[:512, :512]
    context = run_flow(tmp_path, f"flow:\n  - {{type: resize, {options}}}\n", image)
    assert context["image"].shape[:2] == shape


def test_rotate_quarter_turns_are_exact(tmp_path: Path) -> None:
    image = real_image()
    for angle, expected in (
        (90, np.rot90(image, 1)),
        (-90, np.rot90(image, 3)),
        (180, image[::-1, ::-1]),
    ):
        context = run_flow(
            tmp_path / str(angle), f"flow:\n  - {{type: rotate, angle: {angle}}}\n", image
        )
        assert np.array_equal(context["image"], expected)
        assert context["angle"] == angle


def test_rotate_any_angle_expands_the_canvas(tmp_path: Path) -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[40:60, 90:110] = 255  # a white square at the centre stays at the centre
    context = run_flow(tmp_path, "flow:\n  - {type: rotate, angle: 45}\n", image)
    out = context["image"]
    assert out.shape[0] == out.shape[1] == round(300 / np.sqrt(2))
    assert out[out.shape[0] // 2, out.shape[1] // 2].min() == 255


@pytest.mark.parametrize(("direction", "flip"), [("horizontal", 1), ("vertical", 0), ("both", -1)])
def test_flip(tmp_path: Path, direction: str, flip: int) -> None:
    image = real_image()
    context = run_flow(tmp_path, f"flow:\n  - {{type: flip, direction: {direction}}}\n", image)
    assert np.array_equal(context["image"], cv2.flip(image, flip))


@pytest.mark.parametrize("channels", [1, 3])
def test_grayscale(tmp_path: Path, channels: int) -> None:
    context = run_flow(
        tmp_path, f"flow:\n  - {{type: grayscale, channels: {channels}}}\n", real_image()
    )
    out = context["image"]
    assert out.ndim == (2 if channels == 1 else 3)
    if channels == 3:
        assert np.array_equal(out[..., 0], out[..., 2])


def test_normalize_stretch_and_clahe_raise_contrast(tmp_path: Path) -> None:
    dull = (real_image().astype(np.float32) * 0.3 + 80).astype(np.uint8)
    out = run_flow(tmp_path / "s", "flow:\n  - {type: normalize, method: stretch}\n", dull)["image"]
    assert out.std() > dull.std() * 1.5
    out = run_flow(tmp_path / "c", "flow:\n  - {type: normalize, method: clahe}\n", dull)["image"]
    detail = lambda image: cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_32F).var()  # noqa: E731
    assert detail(out) > detail(dull) * 1.5
    out = run_flow(
        tmp_path / "lin",
        "flow:\n  - {type: normalize, method: linear, alpha: 2, beta: -10}\n",
        dull,
    )["image"]
    assert int(out[0, 0, 0]) == min(255, max(0, 2 * int(dull[0, 0, 0]) - 10))


BOX = """
def main(context):
    h, w = context["image"].shape[:2]
    context["detectedRectangles"].append({"x": w - 30, "y": 10, "width": 20, "height": 20,
        "classNames": [{"label": "mark", "color": "#0000ff"}]})
"""


def test_rectangles_found_after_preprocessing_match_the_returned_image(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    flow = """
flow:
  - {type: crop, x: 40, y: 60, width: 300, height: 200}
  - {type: rotate, angle: 90}
  - {type: resize, scale: 0.5}
  - {type: code, name: box, file: box.py}
"""
    server = serve(write_project(tmp_path / "p", flow, {"box.py": BOX}))
    response = requests.post(
        f"{server.url}/analyze_image?response_type=annotated_image&context_in_body",
        data=encode(real_image()),
    )
    split = int(response.headers["ImageLen"])
    annotated = decode(response.content[:split])
    import json

    context = json.loads(response.content[split:])
    assert annotated.shape[:2] == (150, 100)  # 300x200 crop, turned, halved
    assert context["imageShape"] == {"height": 150, "width": 100}
    rect = context["detectedRectangles"][0]
    assert tuple(annotated[rect["y"], rect["x"] + 5]) == (255, 0, 0)  # the box edge, drawn in blue
