"""Class-folder datasets and classification metrics."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inspekt.errors import DatasetError
from inspekt.evaluation.classification import (
    ClassificationEvaluator,
    confusion_matrix,
    load_class_folders,
    macro_f1,
)


def image_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((8, 8), 128, np.uint8))
    return path


def test_classes_are_the_folders_with_images_in_sorted_order(tmp_path: Path) -> None:
    for name in ("b/1.png", "b/2.png", "a/1.png"):
        image_file(tmp_path / name)
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not an image")
    data = load_class_folders(tmp_path)
    assert data.classes == ("a", "b")
    assert data.labels == (0, 1, 1)
    assert [p.name for p in data.paths] == ["1.png", "1.png", "2.png"]


@pytest.mark.parametrize("layout", [[], ["only/1.png"], ["train/good/1.png", "test/x/1.png"]])
def test_a_folder_without_two_classes_is_refused_with_the_layout_expected(
    tmp_path: Path, layout: list[str]
) -> None:
    for name in layout:
        image_file(tmp_path / name)
    with pytest.raises(DatasetError, match="not a classifier dataset.*a folder per class"):
        load_class_folders(tmp_path)
    with pytest.raises(DatasetError, match="not a folder"):
        load_class_folders(tmp_path / "missing")


def test_macro_f1_weighs_every_class_equally() -> None:
    matrix = confusion_matrix([0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 1], 2)
    assert matrix.tolist() == [[4, 0], [1, 1]]
    # class 0: precision 4/5, recall 1 -> 8/9; class 1: precision 1, recall 1/2 -> 2/3
    assert macro_f1(matrix) == pytest.approx((8 / 9 + 2 / 3) / 2)
    assert macro_f1(confusion_matrix([0, 1], [0, 1], 3)) == 1.0  # absent classes not counted


def test_the_evaluator_counts_and_keeps_the_surest_mistakes_first(tmp_path: Path) -> None:
    paths = [image_file(tmp_path / f"{name}/{i}.png") for name in ("a", "b") for i in range(2)]
    evaluator = ClassificationEvaluator(load_class_folders(tmp_path))
    evaluator.add(paths[0], 0, "a", 0.9, 1.0)
    evaluator.add(paths[1], 0, "b", 0.6, 1.0)
    evaluator.add(paths[2], 1, "a", 0.8, 1.0)
    evaluator.add(paths[3], 1, "b", 0.7, 3.0)
    result = evaluator.result()
    summary = result.as_json()
    assert summary["accuracy"] == 0.5 and summary["n_images"] == 4
    assert summary["ms_per_image_p50"] == 1.0 and summary["confusion_matrix"] == [[1, 1], [1, 1]]
    assert [m[3] for m in result.mistakes] == [0.8, 0.6]
    written = result.write_report(tmp_path / "report")
    assert {p.name for p in written} >= {"confusion.png", "metrics.json"}
    assert len(list((tmp_path / "report" / "mistakes").iterdir())) == 2
    with pytest.raises(DatasetError, match="answers 'c'"):
        evaluator.add(paths[0], 0, "c", 0.5, 1.0)
