"""The image saver writes by verdict in the background and keeps its folder bounded."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspekt import Inspector, ProjectError, load_project
from tests.conftest import inspect, real_image, write_project

VERDICT = "def main(context):\n    context['result'] = context['data'] == 'ok'\n"


def saver_inspector(tmp_path: Path, options: str) -> Inspector:
    flow = (
        "flow:\n  - {type: code, name: verdict, file: v.py}\n"
        f"  - {{type: image_saver, name: saver, {options}}}\n"
    )
    return Inspector(load_project(write_project(tmp_path / "p", flow, {"v.py": VERDICT})))


def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("when", "saved"),
    [
        ("nok", ["nok_001_bad_.._x.png"]),
        ("ok", ["ok_001_ok.png"]),
        ("all", ["nok_002_bad_.._x.png", "ok_001_ok.png"]),
    ],
)
def test_saves_by_verdict_with_the_pattern(tmp_path: Path, when: str, saved: list[str]) -> None:
    inspector = saver_inspector(
        tmp_path, f"when: {when}, pattern: '{{result}}_{{counter:03d}}_{{data}}'"
    )
    inspect(inspector, real_image(), "ok")
    inspect(inspector, real_image(), "bad/../x")
    inspector.close()
    assert sorted(p.name for p in (tmp_path / "p" / "saved").iterdir()) == saved


def test_saves_the_input_or_the_annotated_image(tmp_path: Path) -> None:
    flow = """
flow:
  - {type: crop, x: 0, y: 0, width: 100, height: 80}
  - {type: code, name: verdict, file: v.py}
  - {type: image_saver, name: raw, when: all, image: input, folder: raw}
  - {type: image_saver, name: seen, when: all, image: annotated, folder: seen, format: jpg}
"""
    inspector = Inspector(load_project(write_project(tmp_path / "p", flow, {"v.py": VERDICT})))
    image = real_image()
    inspect(inspector, image, "ok")
    inspector.close()
    raw = cv2.imread(str(next((tmp_path / "p" / "raw").iterdir())))
    assert np.array_equal(raw, image)
    assert cv2.imread(str(next((tmp_path / "p" / "seen").glob("*.jpg")))).shape == (80, 100, 3)


def test_annotated_images_carry_the_projects_banner(tmp_path: Path) -> None:
    flow = (
        "annotation: {banner: true}\nflow:\n  - {type: code, name: verdict, file: v.py}\n"
        "  - {type: image_saver, when: all, image: annotated}\n"
    )
    project = load_project(write_project(tmp_path / "p", flow, {"v.py": VERDICT}))
    with Inspector(project) as inspector:
        inspect(inspector, real_image(), "ok")
    saved = cv2.imread(str(next((tmp_path / "p" / "saved").iterdir())))
    assert saved.shape[0] > real_image().shape[0]  # the OK strip below the picture


def test_retention_by_count_and_size(tmp_path: Path) -> None:
    inspector = saver_inspector(tmp_path / "count", "when: all, max_files: 3")
    for _ in range(7):
        inspect(inspector, real_image(), "ok")
    inspector.close()
    kept = sorted(p.name for p in (tmp_path / "count" / "p" / "saved").iterdir())
    assert [name.split("_")[1] for name in kept] == ["000005", "000006", "000007"]

    one_image = len(cv2.imencode(".png", real_image())[1])
    inspector = saver_inspector(
        tmp_path / "size", f"when: all, max_files: null, max_megabytes: {2.5 * one_image / 2**20}"
    )
    for _ in range(6):
        inspect(inspector, real_image(), "ok")
    inspector.close()
    assert len(list((tmp_path / "size" / "p" / "saved").iterdir())) == 2


def test_retention_counts_what_an_earlier_run_left(tmp_path: Path) -> None:
    for _ in range(2):
        inspector = saver_inspector(
            tmp_path, "when: all, max_files: 4, pattern: '{time:%H%M%S%f}_{counter}'"
        )
        for _ in range(3):
            inspect(inspector, real_image(), "ok")
        inspector.close()
    assert len(list((tmp_path / "p" / "saved").iterdir())) == 4


def test_a_failing_disk_is_reported_and_analysis_goes_on(tmp_path: Path) -> None:
    inspector = saver_inspector(tmp_path, "when: all, folder: blocked")
    (tmp_path / "p" / "blocked").write_text("a file where the folder should be")
    first = inspect(inspector, real_image(), "ok")
    assert first["result"] is True
    wait_for(lambda: inspector.project.modules[1].worker.status().failed >= 1)
    later = inspect(inspector, real_image(), "ok")
    assert later["result"] is True
    assert any("image saver 'saver'" in e and "failing" in e for e in later["errors"])
    inspector.close()


def test_bad_pattern_is_a_project_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="pattern"):
        saver_inspector(tmp_path / "a", "pattern: '{nope}'")
    with pytest.raises(ProjectError, match="pattern"):
        saver_inspector(tmp_path / "b", "pattern: 'sub/{counter}'")
