"""``eval --report``: the worst misses show the heat, the boxes found and the ground truth."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inspekt.evaluation import load_mvtec
from inspekt.evaluation.anomaly import AnomalyEvaluation, AnomalyEvaluator
from inspekt.imaging.render import annotated_image

HAZELNUT = Path(__file__).parents[1] / "data" / "hazelnut"
THRESHOLD = 0.4  # not 0.5: the report must bring the heat onto the 0.5-is-threshold scale
MAGENTA = (255, 0, 255)
RED = (0, 0, 255)


def hot_square(shape: tuple[int, ...], peak: float) -> np.ndarray:
    heat = np.full(shape[:2], 0.1, np.float32)
    heat[100:160, 300:380] = peak
    return heat


@pytest.fixture(scope="module")
def evaluation() -> AnomalyEvaluation:
    """Every hazelnut test image scored by hand: one hot square each, defects hotter."""
    dataset = load_mvtec(HAZELNUT)
    evaluator = AnomalyEvaluator(dataset, THRESHOLD, keep_maps=True)
    for sample in dataset.test:
        shape = cv2.imread(str(sample.path)).shape
        peak = 0.6 if sample.label else 0.3 + 0.01 * int(sample.path.stem)
        evaluator.add(sample, hot_square(shape, peak), peak, peak >= THRESHOLD, 1.0)
    return evaluator.result()


def pure(image: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    return np.all(image == np.array(color, np.uint8), axis=-1)


@pytest.fixture(scope="module")
def worst(evaluation: AnomalyEvaluation, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("report")
    written = evaluation.write_report(folder)
    images = sorted((folder / "worst").glob("*.png"))
    assert set(images) <= set(written)
    return images


def test_every_worst_miss_is_written(worst: list[Path]) -> None:
    names = [p.name for p in worst]
    assert len(names) == 4  # 2 defects and 2 good images in the sample
    assert sum(n.startswith("defect_scored_low_") for n in names) == 2
    assert sum(n.startswith("good_scored_high_") for n in names) == 2


def test_a_defect_shows_its_ground_truth_outline_and_the_box_found(
    evaluation: AnomalyEvaluation, worst: list[Path]
) -> None:
    path = next(p for p in worst if p.name.startswith("defect_scored_low_") and "_00_" in p.name)
    sample = next(s.sample for s in evaluation.samples if s.sample.path.stem == "00"
                  and s.sample.label == 1)
    assert sample.mask_path is not None
    report = cv2.imread(str(path))
    image = cv2.imread(str(sample.path))
    height = image.shape[0]
    assert report.shape[0] > height and report.shape[1] == image.shape[1]  # verdict and legend
    picture = report[:height]
    plain = annotated_image(image, np.clip(hot_square(image.shape, 0.6) / 0.8, 0, 1), [])
    assert not pure(plain, MAGENTA).any()
    truth = pure(picture, MAGENTA)
    assert truth.sum() > 100  # the ground-truth outline, in a colour nothing else uses
    mask = cv2.imread(str(sample.mask_path), cv2.IMREAD_GRAYSCALE) > 0
    edge = cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    edge &= ~(cv2.erode(mask.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0)
    assert truth[edge].sum() / truth.sum() > 0.95  # drawn along the mask's border
    found = pure(picture, RED)  # the box around the heat above the threshold...
    assert found[100, 300:380].mean() > 0.9 and found[100:160, 300].mean() > 0.9
    assert found[85:99, 300:350].mean() > 0.5  # ...and its tag on top: the heat has none
    # the image is otherwise the plain overlay: the heat is put on the 0.5 scale
    untouched = ~cv2.dilate((truth | found).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(
        bool
    )
    untouched[60:100, 290:420] = False  # the box's label
    assert np.array_equal(picture[untouched], plain[untouched])


def test_the_verdict_score_and_legend_are_written_under_the_image(
    evaluation: AnomalyEvaluation, worst: list[Path]
) -> None:
    good = next(p for p in worst if p.name.startswith("good_scored_high_"))
    defect = next(p for p in worst if p.name.startswith("defect_scored_low_"))
    height = 512
    for path, ok in ((good, True), (defect, False)):
        below = cv2.imread(str(path))[height:].reshape(-1, 3).astype(int)
        blue, green, red = np.median(below[: len(below) // 3], axis=0)
        assert (green > red + 60) if ok else (red > green + 60), path.name
        assert (below.min(axis=1) > 200).sum() > 100  # white text: verdict, score, legend
    # only a sample with a mask gets the ground-truth swatch in its legend
    legend = lambda p: cv2.imread(str(p))[-30:]  # noqa: E731
    assert pure(legend(defect), MAGENTA).sum() > 20
    assert not pure(legend(good), MAGENTA).any()
    assert not pure(cv2.imread(str(good))[:height], MAGENTA).any()


def test_scores_differ_in_the_banner(evaluation: AnomalyEvaluation, worst: list[Path]) -> None:
    goods = [cv2.imread(str(p)) for p in worst if p.name.startswith("good_scored_high_")]
    strips = [image[512:] for image in goods]
    assert strips[0].shape == strips[1].shape and not np.array_equal(strips[0], strips[1])
