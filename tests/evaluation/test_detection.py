"""Detector datasets (YOLO and COCO readers, malformed labels) and COCO-style AP."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspekt.errors import DatasetError
from inspekt.evaluation.detection import (
    Box,
    DetectionEvaluation,
    DetectionEvaluator,
    average_precision,
    load_detection_set,
)


def yolo_set(root: Path, labels: dict[str, str], names: str = "scratch\npit\n") -> Path:
    for stem, text in labels.items():
        (root / "images" / "train").mkdir(parents=True, exist_ok=True)
        (root / "labels" / "train").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "images" / "train" / f"{stem}.png"), np.zeros((50, 100), np.uint8))
        if text is not None:
            (root / "labels" / "train" / f"{stem}.txt").write_text(text)
    (root / "classes.txt").write_text(names)
    return root


def test_yolo_boxes_are_read_in_pixels_from_nested_folders(tmp_path: Path) -> None:
    data = load_detection_set(yolo_set(tmp_path, {"a": "1 0.5 0.5 0.2 0.4\n", "b": ""}))
    assert data.classes == ("scratch", "pit")
    first, second = data.samples
    assert first.boxes == (Box(1, 40.0, 15.0, 60.0, 35.0),) and second.boxes == ()


def test_data_yaml_names_the_classes(tmp_path: Path) -> None:
    root = yolo_set(tmp_path, {"a": "0 0.5 0.5 0.2 0.4\n"})
    (root / "classes.txt").unlink()
    (root / "data.yaml").write_text("names:\n  0: crazing\n  1: inclusion\n")
    assert load_detection_set(root).classes == ("crazing", "inclusion")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 0.5 0.5 0.2", "expected 'class cx cy w h', got 4 fields"),
        ("x 0.5 0.5 0.2 0.2", "is not 'class cx cy w h'"),
        ("7 0.5 0.5 0.2 0.2", "class 7 is not 0 to 1"),
        ("0 50 40 10 10", "normalised to 0..1"),
    ],
)
def test_a_malformed_label_names_its_file_and_line(
    tmp_path: Path, line: str, message: str
) -> None:
    yolo_set(tmp_path, {"bad": f"0 0.5 0.5 0.2 0.2\n{line}\n"})
    with pytest.raises(DatasetError, match=rf"bad\.txt, line 2: .*{message}"):
        load_detection_set(tmp_path)


def test_coco_annotations_are_read_and_checked(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "one.png"), np.zeros((50, 100), np.uint8))
    document = {
        "images": [{"id": 3, "file_name": "one.png", "width": 100, "height": 50}],
        "categories": [{"id": 9, "name": "short"}, {"id": 4, "name": "open"}],
        "annotations": [{"image_id": 3, "category_id": 9, "bbox": [10, 5, 20, 10]}],
    }
    (tmp_path / "annotations.json").write_text(json.dumps(document))
    data = load_detection_set(tmp_path)
    assert data.classes == ("open", "short")
    assert data.samples[0].boxes == (Box(1, 10.0, 5.0, 30.0, 15.0),)
    document["annotations"][0]["category_id"] = 5
    (tmp_path / "annotations.json").write_text(json.dumps(document))
    with pytest.raises(DatasetError, match=r"annotations\[0\] names an unknown"):
        load_detection_set(tmp_path)


def test_a_folder_in_no_layout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not a detector dataset; expected YOLO"):
        load_detection_set(tmp_path)


def test_average_precision_counts_misses_duplicates_and_ranking() -> None:
    truth = [[Box(0, 0, 0, 10, 10), Box(0, 20, 20, 30, 30)]]
    perfect = [[Box(0, 0, 0, 10, 10, 0.9), Box(0, 20, 20, 30, 30, 0.8)]]
    assert average_precision(perfect, truth, 0, 0.5) == 1.0
    # a duplicate of the first box ranked above the second: the second is found at 2/3
    duplicate = [[*perfect[0][:1], Box(0, 1, 1, 10, 10, 0.85), perfect[0][1]]]
    assert average_precision(duplicate, truth, 0, 0.5) == pytest.approx(0.5 + 0.5 * 2 / 3)
    half = [[perfect[0][0]]]
    assert average_precision(half, truth, 0, 0.5) == 0.5
    assert average_precision(perfect, truth, 1, 0.5) is None
    shifted = [[Box(0, 3, 3, 13, 13, 0.9)]]  # IoU 49/151
    assert average_precision(shifted, [[truth[0][0]]], 0, 0.3) == 1.0
    assert average_precision(shifted, [[truth[0][0]]], 0, 0.5) == 0.0
    summary = DetectionEvaluation(("a", "b"), 0.3, [Path("x.png")], perfect, truth, [2.0])
    assert summary.as_json()["map50"] == summary.as_json()["map50_95"] == 1.0
    assert summary.as_json()["ap50_per_class"] == {"a": 1.0}


def test_the_report_draws_the_images_with_errors_and_the_pr_curve(tmp_path: Path) -> None:
    data = load_detection_set(yolo_set(tmp_path / "set", {
        "clean": "0 0.5 0.5 0.2 0.4\n", "missed": "0 0.5 0.5 0.2 0.4\n1 0.2 0.2 0.1 0.2\n",
    }))
    evaluator = DetectionEvaluator(data, shown_confidence=0.3)
    clean, missed = sorted(data.samples, key=lambda s: s.image.stem)
    evaluator.add(clean, [Box(0, 40, 15, 60, 35, 0.9), Box(1, 0, 0, 5, 5, 0.1)], 1.0)
    # the pit is missed, the scratch is called a pit: one miss, one wrong box, one hit
    evaluator.add(missed, [Box(1, 40, 15, 60, 35, 0.8), Box(0, 40, 15, 60, 35, 0.7)], 1.0)
    result = evaluator.result
    assert result.errors(0) == (0, 0)  # the weak box is under the shown confidence
    assert result.errors(1) == (1, 1)
    written = result.write_report(tmp_path / "report")
    names = sorted(p.relative_to(tmp_path / "report").as_posix() for p in written)
    assert names == ["metrics.json", "pr_curve.png", "worst/1_missed.png"]
    drawn = cv2.imread(str(tmp_path / "report" / "worst" / "1_missed.png"))
    assert drawn.shape[1] == 100 and drawn.shape[0] > 50  # the image and its legend
    magenta = (drawn[:50, :, 0] > 200) & (drawn[:50, :, 1] < 60) & (drawn[:50, :, 2] > 200)
    assert magenta.any()
    assert cv2.imread(str(tmp_path / "report" / "pr_curve.png")) is not None
