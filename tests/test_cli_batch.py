"""``inspekt analyze``: the flow on files and folders, without a server."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

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
    assert len(list(out.glob("*_annotated.png"))) == 2


def test_unreadable_files_are_reported_and_exit_1(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    done = analyze(str(project), str(broken), str(sorted(IMAGES.rglob("*.jpg"))[0]))
    assert done.returncode == 1
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["result"] for r in rows] == ["error", ""]
    assert "broken.png" in done.stderr
    assert analyze(str(project), str(tmp_path / "nothing-here")).returncode == 1
    assert analyze(str(project), str(broken), "--format", "xml").returncode == 2
