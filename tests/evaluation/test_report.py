"""``eval --report``: the worst misses show the heat, the boxes found and the ground truth;
the score histogram shows the threshold and the zero-escape line; metrics.json has every key."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspekt.evaluation import MvtecDataset, load_mvtec
from inspekt.evaluation.anomaly import AnomalyEvaluation, AnomalyEvaluator
from inspekt.evaluation.report import _histogram_figure
from inspekt.imaging.regions import find_regions
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
    """Every hazelnut test image scored by hand: one hot square each, defects hotter.

    The square lies above both defects' ground truth: each defect gets a box that misses it.
    """
    dataset = load_mvtec(HAZELNUT)
    evaluator = AnomalyEvaluator(dataset, THRESHOLD, keep_maps=True)
    for sample in dataset.test:
        shape = cv2.imread(str(sample.path)).shape
        peak = 0.6 if sample.label else 0.3 + 0.01 * int(sample.path.stem)
        heat = hot_square(shape, peak)
        regions = find_regions(heat, THRESHOLD)
        evaluator.add(sample, heat, peak, peak >= THRESHOLD, 1.0, regions)
    return evaluator.result()


def pure(image: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    return np.all(image == np.array(color, np.uint8), axis=-1)


@pytest.fixture(scope="module")
def report(evaluation: AnomalyEvaluation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    written = evaluation.write_report(folder)
    assert set(folder.rglob("*.png")) | {folder / "metrics.json"} == set(written)
    return folder


@pytest.fixture(scope="module")
def worst(report: Path) -> list[Path]:
    return sorted((report / "worst").glob("*.png"))


def test_the_report_has_its_plots_and_every_metric(report: Path) -> None:
    for name in ("roc.png", "scores.png"):
        image = cv2.imread(str(report / name))
        assert image is not None and image.shape[0] > 200 and image.std() > 10
    metrics = json.loads((report / "metrics.json").read_text())
    # 2 defects at 0.6, good images at 0.34 and 0.35, threshold 0.4: all right
    assert metrics["confusion"] == {"tp": 2, "fp": 0, "tn": 2, "fn": 0}
    assert metrics["escape_rate"] == 0.0 and metrics["false_reject_rate"] == 0.0
    assert metrics["zero_escape_threshold"] == pytest.approx(0.6)
    assert metrics["false_reject_at_zero_escape"] == 0.0
    # ...but each defect's box is off its ground truth, and good images have no box
    assert metrics["region_recall"] == 0.0
    assert metrics["false_boxes_per_defect_image"] == 1.0
    assert metrics["false_boxes_per_good_image"] == 0.0
    # The squares are good pixels: the curve runs flat at PRO 0 to their FPR, then, as the
    # ground truth ties the background at 0.1, straight to (1, 1); read up to FPR .3.
    truth = sum(int((cv2.imread(str(p), 0) > 0).sum()) for p in HAZELNUT.rglob("*_mask.png"))
    squares = 4 * 60 * 80 / (4 * 512 * 512 - truth)
    pro = (0.3 - squares) / (1 - squares)
    assert metrics["aupro"] == pytest.approx((0.3 - squares) * pro / 2 / 0.3, abs=1e-4)


def test_the_histogram_shows_both_classes_the_threshold_and_zero_escape(
    evaluation: AnomalyEvaluation,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = _histogram_figure(evaluation)
    try:
        axes = figure.axes[0]
        legend = axes.get_legend()
        assert legend is not None
        texts = [t.get_text() for t in legend.get_texts()]
        assert texts[:2] == ["good images (2)", "defect images (2)"]
        assert texts[2].startswith("threshold 0.400 (0/2 defects pass, 0/2 good rejected")
        assert texts[3].startswith("zero escape 0.600 (no defect passes: 0% of good")
        lines = {line.get_label(): line.get_xdata() for line in axes.get_lines()}
        assert [x[0] for x in lines.values()] == pytest.approx([THRESHOLD, 0.6])
        labels = {t.get_text() for t in axes.texts}
        assert labels == {"threshold", "zero escape"}  # written on the lines, too
    finally:
        plt.close(figure)


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


def test_keys_without_masks_boxes_or_defects_are_null() -> None:
    full = load_mvtec(HAZELNUT)
    unmasked = replace(full, test=tuple(replace(s, mask_path=None) for s in full.test))
    heat = hot_square((512, 512), 0.6)
    boxes = find_regions(heat, THRESHOLD)  # one box, on every image

    def scored(dataset: MvtecDataset, with_boxes: bool) -> dict[str, object]:
        evaluator = AnomalyEvaluator(dataset, THRESHOLD)
        for sample in dataset.test:
            evaluator.add(sample, heat, 0.6, True, 1.0, boxes if with_boxes else None)
        return evaluator.result().as_json()

    metrics = scored(unmasked, with_boxes=True)
    for key in ("pixel_auroc", "aupro", "region_recall", "false_boxes_per_defect_image"):
        assert metrics[key] is None, key
    assert metrics["false_boxes_per_good_image"] == 1.0  # needs no mask
    assert metrics["confusion"] == {"tp": 2, "fp": 2, "tn": 0, "fn": 0}
    assert metrics["false_reject_rate"] == 1.0 and metrics["escape_rate"] == 0.0

    metrics = scored(full, with_boxes=False)  # boxes not given: not counted as none found
    for key in ("region_recall", "false_boxes_per_good_image", "false_boxes_per_defect_image"):
        assert metrics[key] is None, key
    assert metrics["aupro"] is not None

    goods = replace(full, test=tuple(s for s in full.test if s.label == 0))
    metrics = scored(goods, with_boxes=True)
    for key in ("escape_rate", "zero_escape_threshold", "false_reject_at_zero_escape",
                "image_auroc", "aupro", "region_recall"):
        assert metrics[key] is None, key
    assert metrics["false_reject_rate"] == 1.0
