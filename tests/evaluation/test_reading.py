"""labels.csv datasets of readers and their read and false-read rates."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspekt.errors import DatasetError
from inspekt.evaluation.reading import (
    Label,
    Reading,
    ReadingEvaluator,
    ReadingSample,
    load_reading_set,
)

FORMATS = ("QRCode", "Code128")


def dataset(folder: Path, labels: str, images: tuple[str, ...] = ("a.png", "b.png")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in images:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / name), np.full((40, 60), 128, np.uint8))
    (folder / "labels.csv").write_text(labels, encoding="utf-8")
    return folder


def reading(text: str, kind: str = "QRCode", x: int = 5) -> Reading:
    return Reading(text, kind, ((x, 5), (x + 10, 5), (x + 10, 15), (x, 15)), 0.0)


def test_rows_of_one_image_are_its_labels_in_order(tmp_path: Path) -> None:
    root = dataset(
        tmp_path, "\ufefffile,text,format\na.png,SN-1,QRCode\nb.png,\"x, y\",\n\n"
        "a.png,C-1,Code128\nsub/c.png,,\n",
        ("a.png", "b.png", "sub/c.png"),
    )
    data = load_reading_set(root, FORMATS)
    assert [(s.image.name, s.labels) for s in data.samples] == [
        ("a.png", (Label("SN-1", "QRCode"), Label("C-1", "Code128"))),
        ("b.png", (Label("x, y"),)),
        ("c.png", ()),  # an empty text: nothing should be read there
    ]


def test_the_format_column_is_optional(tmp_path: Path) -> None:
    data = load_reading_set(dataset(tmp_path, "file,text\na.png,SN-1\n"))
    assert data.samples[0].labels == (Label("SN-1"),)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ("file,text\na.png,1\nb.png,2,QRCode\n", "labels.csv, line 3: expected 2 fields"),
        ("file,text\na.png,1\nno.png,2\n", "labels.csv, line 3: image .*no.png not found"),
        ("file,text\n,1\n", "labels.csv, line 2: the file is empty"),
        ("file,text,format\na.png,1,QR\n", r"line 2: unknown format 'QR' \(known: QRCode, Code"),
        ("file,txt\na.png,1\n", "labels.csv, line 1: the header is file,txt; expected file,text"),
        ("file,text\n", "labels.csv: no rows"),
    ],
)
def test_a_malformed_labels_csv_names_its_file_and_line(
    tmp_path: Path, labels: str, message: str
) -> None:
    with pytest.raises(DatasetError, match=message):
        load_reading_set(dataset(tmp_path, labels), FORMATS)


def test_a_format_column_is_refused_where_formats_are_not_told_apart(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="line 1: the header is file,text,format"):
        load_reading_set(dataset(tmp_path, "file,text,format\na.png,1,QRCode\n"))


def test_a_folder_without_labels_says_what_it_expects(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no labels.csv; expected DIR/labels.csv"):
        load_reading_set(tmp_path)


def test_read_and_false_read_rates_count_exact_matches(tmp_path: Path) -> None:
    evaluator = ReadingEvaluator()
    image = tmp_path / "x.png"
    # both read; one read twice: the second is a false read
    evaluator.add(
        ReadingSample(image, (Label("A", "QRCode"), Label("B"))),
        [reading("A"), reading("B", "Code128"), reading("A")], 2.0,
    )
    # the right text in the wrong format is a miss and a false read
    evaluator.add(ReadingSample(image, (Label("C", "Code128"),)), [reading("C")], 4.0)
    # nothing read
    evaluator.add(ReadingSample(image, (Label("D"),)), [], 6.0)
    result = evaluator.result.as_json()
    assert result["read_rate"] == 0.5 and result["false_read_rate"] == 0.5
    assert result["n_images"] == 3 and result["ms_per_image_p50"] == 4.0
    assert result["n_labels"] == 4 and result["n_reads"] == 4


def test_a_labelled_format_takes_its_read_before_a_label_of_any_format(tmp_path: Path) -> None:
    evaluator = ReadingEvaluator()
    evaluator.add(
        ReadingSample(tmp_path / "x.png", (Label("A"), Label("A", "QRCode"))),
        [reading("A"), reading("A", "Code128")], 1.0,
    )
    assert evaluator.result.read_rate == 1.0 and evaluator.result.false_read_rate == 0.0


def test_a_read_is_matched_by_its_text_whatever_its_confidence(tmp_path: Path) -> None:
    corners = ((5, 5), (15, 5), (15, 15), (5, 15))
    assert reading("A").confidence == 1.0  # a decoded code is certain
    unsure = Reading("AB12", "text", corners, 0.0, confidence=0.62)
    evaluator = ReadingEvaluator()
    evaluator.add(ReadingSample(tmp_path / "x.png", (Label("AB12"),)), [unsure], 1.0)
    assert evaluator.result.read_rate == 1.0


def test_nothing_read_is_no_false_read(tmp_path: Path) -> None:
    evaluator = ReadingEvaluator()
    evaluator.add(ReadingSample(tmp_path / "x.png", ()), [], 1.0)
    assert evaluator.result.as_json()["false_read_rate"] == 0.0


def test_the_report_draws_misread_images_it_kept(tmp_path: Path) -> None:
    view = np.full((40, 60, 3), 128, np.uint8)
    evaluator = ReadingEvaluator(keep_examples=True)
    evaluator.add(ReadingSample(tmp_path / "right.png", (Label("A"),)), [reading("A")], 1.0, view)
    evaluator.add(
        ReadingSample(tmp_path / "wrong.png", (Label("A"),)), [reading("B", x=30)], 1.0, view
    )
    written = evaluator.result.write_report(tmp_path / "report")
    assert [path.relative_to(tmp_path / "report").as_posix() for path in written] == [
        "misreads/1_wrong.png", "metrics.json",
    ]
    drawn = cv2.imread(str(written[0]))
    assert drawn.shape[0] > 40 and drawn.shape[1] == 60  # the legend strip under the image
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert metrics["read_rate"] == 0.5 and metrics["n_misread_images"] == 1
