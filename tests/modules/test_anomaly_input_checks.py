"""Cannot inspect is not NOK: frames far from the training images get an error, not a score."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

from inspekt import FlowRunner, load_project
from inspekt.flow.training import train_project
from inspekt.modules import TrainingSources
from inspekt.modules.anomaly import AnomalyModule
from tests.conftest import Server, encode, write_project
from tests.modules.test_anomaly import HAZELNUT, anomaly_flow, good_image

PREFIX = "anomaly module 'anomaly': cannot inspect: "


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = write_project(tmp_path_factory.mktemp("input_checks") / "nuts", anomaly_flow())
    shutil.copytree(HAZELNUT / "train" / "good", project / "images" / "good")
    train_project(project, TrainingSources())
    return project


@pytest.fixture(scope="module")
def runner(trained: Path) -> Iterator[FlowRunner]:
    with FlowRunner(load_project(trained)) as opened:
        yield opened


def noisy(level: int, spread: int = 6) -> np.ndarray:
    """A frame of one gray level with some sensor noise (so it is not exactly uniform)."""
    rng = np.random.default_rng(0)
    noise = rng.integers(-spread, spread + 1, (512, 512, 3))
    return np.clip(level + noise, 0, 255).astype(np.uint8)


def darker(image: np.ndarray) -> np.ndarray:
    return cv2.convertScaleAbs(image, alpha=0.4)


def gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


#: (image, what the message says, the input_checks that let it through to a score or None).
CASES: dict[str, tuple[Callable[[], np.ndarray], str, str | None]] = {
    "black": (
        lambda: np.zeros((512, 512, 3), np.uint8),
        "frame is uniform (gray std 0.0, brightness 0): black, saturated or covered camera?",
        "{degenerate: false, lighting: false}",
    ),
    "saturated": (
        lambda: np.full((512, 512, 3), 255, np.uint8),
        "frame is uniform (gray std 0.0, brightness 255)",
        "{degenerate: false, lighting: false}",
    ),
    "uniform-gray": (
        lambda: np.full((512, 512, 3), 128, np.uint8),
        "frame is uniform (gray std 0.0, brightness 128)",
        "{degenerate: false, lighting: false}",
    ),
    "nearly-black": (
        lambda: noisy(8),
        "frame is nearly black (brightness 8, 99% of pixels at or below",
        "{degenerate: false, lighting: false}",
    ),
    "nearly-saturated": (
        lambda: noisy(248),
        "frame is nearly saturated (brightness 248, 99% of pixels at or above",
        "{degenerate: false, lighting: false}",
    ),
    "1x1": (
        lambda: good_image()[:1, :1],
        "image is 1x1 px; this model learnt from 512x512 to 512x512 "
        "(allowed 0.5x to 2x that size)",
        "{size: false, degenerate: false, lighting: false}",
    ),
    "4000x3000": (
        lambda: cv2.resize(good_image(), (4000, 3000)),
        "image is 4000x3000 px; this model learnt from 512x512 to 512x512",
        "{size: false}",
    ),
    "aspect": (
        lambda: cv2.resize(good_image(), (1000, 300)),
        "aspect ratio (width/height) 3.33 is far outside the training range 1.00–1.00",
        "{aspect: false}",
    ),
    "much-darker": (
        lambda: darker(good_image()),
        "brightness 71 is far below the training range",
        "{lighting: false}",
    ),
    "grayscale-camera": (
        lambda: gray(good_image()),
        "grayscale image (1 channel); this model learnt from colour images",
        "{format: false}",
    ),
    "16-bit": (
        lambda: good_image().astype(np.uint16) * 257,
        "16-bit image (uint16); trained on 8-bit (uint8)",
        "{format: false}",
    ),
    "2-channels": (lambda: good_image()[:, :, :2], "2 channels; trained on 3", None),
}


def assert_refused(context: dict, says: str) -> None:
    assert context["error"] is True and context["result"] is False
    assert len(context["errors"]) == 1, context["errors"]
    assert context["errors"][0].startswith(PREFIX)
    assert says in context["errors"][0]
    assert context["detectedRectangles"] == []
    assert context["score"] == 0.0 and context["threshold"] == 0.0
    assert context["heatmap"] is None


def assert_scored(context: dict) -> None:
    assert context["error"] is False and context["errors"] == []
    assert context["threshold"] == 0.5 and context["score"] > 0.0
    assert context["result"] is (context["score"] < 0.5)


@pytest.mark.parametrize("case", CASES)
def test_a_frame_it_cannot_inspect_is_an_error_not_a_nok(runner: FlowRunner, case: str) -> None:
    image, says, _ = CASES[case]
    assert_refused(runner.analyze(image()), says)


@pytest.mark.parametrize("case", [name for name, (_, _, relax) in CASES.items() if relax])
def test_relaxing_the_check_lets_it_through_to_a_score(
    trained: Path, tmp_path: Path, case: str
) -> None:
    image, _, relax = CASES[case]
    project = tmp_path / "relaxed"
    shutil.copytree(trained, project)
    (project / "flow.yaml").write_text(anomaly_flow(f", input_checks: {relax}"))
    with FlowRunner(load_project(project)) as relaxed:
        assert_scored(relaxed.analyze(image()))


def test_relaxing_one_check_leaves_the_others(trained: Path, tmp_path: Path) -> None:
    project = tmp_path / "lenient"
    shutil.copytree(trained, project)
    (project / "flow.yaml").write_text(anomaly_flow(", input_checks: {degenerate: false}"))
    with FlowRunner(load_project(project)) as lenient:
        context = lenient.analyze(np.zeros((512, 512, 3), np.uint8))
    assert_refused(context, "brightness 0 is far below the training range")


@pytest.mark.parametrize(
    "path", sorted((HAZELNUT / "test").glob("*/*.jpg")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_the_test_images_are_judged(runner: FlowRunner, path: Path) -> None:
    context = runner.analyze(cv2.imread(str(path)))
    assert_scored(context)
    if path.parent.name == "colour":
        assert context["result"] is False and context["detectedRectangles"]


@pytest.mark.parametrize(
    "change",
    [
        lambda image: cv2.resize(image, (400, 400)),
        lambda image: cv2.resize(image, (900, 760)),
        lambda image: cv2.convertScaleAbs(image, alpha=0.85),
        lambda image: cv2.cvtColor(image, cv2.COLOR_BGR2BGRA),
    ],
    ids=["smaller", "larger-and-wider", "dimmer-lamp", "bgra"],
)
def test_moderate_changes_are_judged(runner: FlowRunner, change: Callable) -> None:
    assert_scored(runner.analyze(change(good_image())))


def test_inspect_and_so_eval_still_score_every_image(trained: Path) -> None:
    (module,) = load_project(trained).modules
    assert isinstance(module, AnomalyModule)
    module.open()
    try:
        black = np.zeros((512, 512, 3), np.uint8)
        assert module.model is not None and module.model.check_input(black)
        finding = module.inspect(black)
        assert np.isfinite(finding.score) and finding.threshold == 0.5
    finally:
        module.close()


def test_the_server_answers_an_error_for_a_black_frame_and_a_gray_camera(
    trained: Path, serve: Callable[..., Server]
) -> None:
    server = serve(trained)
    black = requests.post(
        f"{server.url}/analyze_image", data=encode(np.zeros((480, 640, 3), np.uint8)), timeout=60
    )
    assert black.status_code == 200
    context = black.json()
    assert context["error"] is True and context["result"] is False
    assert context["errors"] == [PREFIX + CASES["black"][1]]
    assert context["detectedRectangles"] == [] and context["score"] == 0.0

    mono = gray(good_image())  # a camera switched to mono sends W·H bytes
    raw = requests.post(
        f"{server.url}/analyze_raw_image",
        params={"width": mono.shape[1], "height": mono.shape[0]},
        data=mono.tobytes(),
        timeout=60,
    ).json()
    assert raw["error"] is True and raw["result"] is False
    assert raw["errors"][0].startswith(PREFIX + "grayscale image (1 channel)")

    good = requests.post(f"{server.url}/analyze_image", data=encode(good_image()), timeout=60)
    assert good.json()["error"] is False and good.json()["score"] > 0.0
