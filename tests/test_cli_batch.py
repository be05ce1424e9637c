"""``inspekt analyze``: the flow on files and folders, without a server."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np

from inspekt.batch import collect_images
from tests.conftest import DATA_DIR, inspekt_command, write_project

IMAGES = DATA_DIR / "hazelnut" / "test"
SCORE = """
def main(context):
    context["score"] = (
        0.9 if "colour" in context["data"] or context["data"].startswith("0") else 0.1
    )
    context["result"] = context["score"] < 0.5
    context["detectedRectangles"].append({"x": 1, "y": 1, "width": 4, "height": 4})
"""


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        inspekt_command("analyze", *args), capture_output=True, text=True, timeout=120
    )


def test_csv_rows_for_a_folder(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p", "flow:\n  - {type: code, name: s, file: s.py}\n", {"s.py": SCORE}
    )
    done = analyze(str(project), str(IMAGES))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    files = sorted(str(p) for p in IMAGES.rglob("*.jpg"))
    assert [r["file"] for r in rows] == files
    assert set(rows[0]) == {"file", "result", "score", "ms", "n_rectangles"}
    assert {r["result"] for r in rows} <= {"ok", "nok"} and rows[0]["n_rectangles"] == "1"
    assert "analyze" in done.stderr  # the progress bar is on stderr


def test_jsonl_has_the_api_context_and_annotated_images(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p", "flow:\n  - {type: code, name: s, file: s.py}\n", {"s.py": SCORE}
    )
    files = sorted(IMAGES.rglob("*.jpg"))[:2]
    out = tmp_path / "out"
    done = analyze(str(project), *map(str, files), "--format", "jsonl", "--out", str(out))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["file"] for r in records] == [str(f) for f in files]
    for record in records:
        assert {"file", "result", "score", "ms", "context"} <= set(record)
        assert record["context"]["data"] == Path(record["file"]).name
        assert "image" not in record["context"]
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{f.name}.annotated.png" for f in files)


def test_unreadable_files_are_reported_and_exit_1(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    done = analyze(str(project), str(broken), str(sorted(IMAGES.rglob("*.jpg"))[0]))
    assert done.returncode == 1
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["file"] for r in rows] == [str(broken), str(sorted(IMAGES.rglob("*.jpg"))[0])]
    assert rows[0]["result"] == "error" and rows[1]["result"] != "error"
    assert "broken.png" in done.stderr
    assert analyze(str(project), str(tmp_path / "nothing-here")).returncode == 1
    assert analyze(str(project), str(broken), "--format", "xml").returncode == 2


def same_pixels(annotated: Path, source: Path) -> bool:
    """An empty flow draws nothing: the annotated image is the input's pixels."""
    return np.array_equal(cv2.imread(str(annotated)), cv2.imread(str(source)))


def test_annotated_images_mirror_the_input_paths_and_never_collide(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    photos = sorted(IMAGES.rglob("*.jpg"))
    shots = tmp_path / "shots"
    inputs = {  # same stem in two folders, and the same stem with two suffixes
        "a/x.jpg": photos[0], "b/x.jpg": photos[1], "b/x.png": photos[2], "top.jpg": photos[3],
    }
    for relative, photo in inputs.items():
        (shots / relative).parent.mkdir(parents=True, exist_ok=True)
        if relative.endswith(".png"):
            cv2.imwrite(str(shots / relative), cv2.imread(str(photo)))
        else:
            shutil.copy(photo, shots / relative)
    out = tmp_path / "out"
    done = analyze(str(project), str(shots), "--out", str(out))
    assert done.returncode == 0, done.stderr
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(f"{relative}.annotated.png" for relative in inputs)
    for relative in inputs:
        assert same_pixels(out / f"{relative}.annotated.png", shots / relative), relative


def test_inputs_that_meet_at_one_name_are_numbered_not_overwritten(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    photos = sorted(IMAGES.rglob("*.jpg"))
    for folder, photo in (("one", photos[0]), ("two", photos[1])):
        (tmp_path / folder).mkdir()
        shutil.copy(photo, tmp_path / folder / "x.jpg")
    out = tmp_path / "out"
    # the same relative path under two folder arguments, then the same name given as files
    done = analyze(
        str(project), str(tmp_path / "one"), str(tmp_path / "two"),
        str(tmp_path / "one" / "x.jpg"), str(tmp_path / "two" / "x.jpg"), "--out", str(out),
    )
    assert done.returncode == 0, done.stderr
    names = ["x.jpg.annotated.png", *(f"x.jpg.annotated-{n}.png" for n in (2, 3, 4))]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    for name, folder in zip(names, ("one", "two", "one", "two"), strict=True):
        assert same_pixels(out / name, tmp_path / folder / "x.jpg"), name
    assert not same_pixels(out / names[0], tmp_path / "two" / "x.jpg")


def test_collect_images_remembers_where_each_file_was_found(tmp_path: Path) -> None:
    found = collect_images([IMAGES, IMAGES / "good" / "04.jpg"])
    assert [(f.path, str(f.relative)) for f in found] == [
        *((p, str(p.relative_to(IMAGES))) for p in sorted(IMAGES.rglob("*.jpg"))),
        (IMAGES / "good" / "04.jpg", "04.jpg"),
    ]
