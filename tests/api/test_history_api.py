"""The history over HTTP and the command line: every served inspection is recorded,
paged, filtered, exported and shown with its images; the server stays ready only while
the history is written, and an unwritable one never fails an analysis."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tests.conftest import (
    Server,
    color_card,
    decode,
    encode,
    inspekt_command,
    write_project,
)

VERDICT = """
import os

def main(context):
    context["worker"] = os.getppid()  # the server process that runs this Code module
    context["result"] = not context["data"].startswith("bad")
    context["score"] = 0.1 if context["result"] else 0.9
"""
#: The barcode module's roi lies inside a 400x300 image and outside a smaller one, where
#: the module fails: the inspection ends in an error.
FLOW = """
flow:
  - {type: barcode, name: codes, roi: {x: 200, y: 150, width: 10, height: 10}, expected_count: 0}
  - {type: code, name: verdict, file: verdict.py}
"""


def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "line", FLOW, {"verdict.py": VERDICT})


def post(server: Server, data: str, **params: str) -> requests.Response:
    """``data`` sets the verdict: bad is NOK, boom (a smaller image) an error."""
    image = color_card() if data == "boom" else color_card(400, 300)
    return requests.post(
        f"{server.url}/analyze_image", params={"data": data, **params},
        data=encode(image), timeout=30,
    )


def wait_for(server: Server, count: int, **params: Any) -> list[dict[str, Any]]:
    """The newest inspections once the history holds ``count`` (writes trail answers)."""
    deadline = time.monotonic() + 15
    while True:
        items = requests.get(f"{server.url}/api/inspections", params=params, timeout=10).json()
        if len(items["items"]) >= count or time.monotonic() > deadline:
            return list(items["items"])
        time.sleep(0.05)


def test_every_inspection_is_recorded_and_can_be_paged_and_filtered(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(project(tmp_path))
    for data in ("good", "bad", "good", "boom", "bad"):
        post(server, data)
    items = wait_for(server, 5)
    assert [item["result"] for item in items] == ["nok", "error", "ok", "nok", "ok"]
    assert [item["data"] for item in items] == ["bad", "boom", "good", "bad", "good"]
    newest = items[0]
    assert newest["score"] == 0.9 and newest["endpoint"] == "/analyze_image"
    assert "verdict" in newest["module_ms"] and newest["total_ms"] > 0
    assert newest["time"].endswith("+00:00") and newest["review"] is None
    assert "the roi lies outside the 96x64 image" in items[1]["error"]
    # NOK and error inspections keep their images; OK ones are not sampled by default
    assert set(newest["images"]) == {"input", "annotated"} and items[2]["images"] == {}
    page = requests.get(f"{server.url}/api/inspections", params={"limit": 2}, timeout=10).json()
    rest = requests.get(
        f"{server.url}/api/inspections", params={"limit": 2, "cursor": page["next_cursor"]},
        timeout=10,
    ).json()
    assert [i["id"] for i in page["items"] + rest["items"]] == [i["id"] for i in items[:4]]
    noks = wait_for(server, 2, result="nok")
    assert [i["data"] for i in noks] == ["bad", "bad"]
    later = requests.get(
        f"{server.url}/api/inspections", params={"from": "2999-01-01T00:00:00"}, timeout=10
    ).json()
    assert later == {"items": [], "next_cursor": None}


def test_one_inspection_has_its_context_and_images(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(project(tmp_path))
    post(server, "bad")
    (item,) = wait_for(server, 1)
    detail = requests.get(f"{server.url}/api/inspections/{item['id']}", timeout=10).json()
    assert detail["context"]["result"] is False and detail["context"]["data"] == "bad"
    assert detail["rectangles"] == []
    stored = requests.get(server.url + detail["images"]["input"], timeout=10)
    assert stored.headers["content-type"] == "image/png"
    assert (decode(stored.content) == color_card(400, 300)).all()  # lossless: it can train
    annotated = requests.get(server.url + detail["images"]["annotated"], timeout=10)
    assert annotated.status_code == 200 and annotated.headers["content-type"] == "image/jpeg"
    missing = requests.get(f"{server.url}/api/inspections/{item['id']}/images/heatmap", timeout=10)
    assert missing.status_code == 404 and "has no heatmap image" in missing.json()["error"]
    unknown = requests.get(f"{server.url}/api/inspections/999999", timeout=10)
    assert unknown.status_code == 404 and "no inspection 999999" in unknown.json()["error"]


def test_csv_export_summary_and_bad_queries(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve(project(tmp_path))
    for data in ("good", "good", "good", "bad"):
        post(server, data)
    wait_for(server, 4)
    exported = requests.get(f"{server.url}/api/inspections.csv", timeout=10)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["result"] for row in rows] == ["nok", "ok", "ok", "ok"]
    summary = requests.get(f"{server.url}/api/summary", timeout=10).json()
    assert summary["counts"] == {"ok": 3, "nok": 1, "error": 0, "-": 0}
    assert summary["yield_percent"] == 75.0 and summary["recording"] is True
    for query, message in (
        ({"result": "maybe"}, "result='maybe': expected one of ok, nok, error, -"),
        ({"limit": "0"}, "limit=0: expected 1 to 1000"),
        ({"from": "yesterday"}, "from='yesterday': expected Unix seconds or an ISO 8601"),
        ({"cursor": "x"}, "cursor='x': expected a whole number"),
    ):
        answer = requests.get(f"{server.url}/api/inspections", params=query, timeout=10)
        assert answer.status_code == 400 and message in answer.json()["error"]


def test_the_command_line_prints_the_history(tmp_path: Path, serve: Callable[..., Server]) -> None:
    folder = project(tmp_path)
    server = serve(folder)
    for data in ("good", "bad"):
        post(server, data)
    wait_for(server, 2)
    printed = subprocess.run(
        inspekt_command("history", str(folder), "--result", "nok", "--format", "jsonl"),
        capture_output=True, text=True, check=True,
    )
    (line,) = printed.stdout.splitlines()
    assert json.loads(line)["data"] == "bad" and json.loads(line)["context"]["result"] is False
    table = subprocess.run(
        inspekt_command("history", str(folder), "--limit", "1"),
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert table[0].startswith("id,time,result") and len(table) == 2
    empty = subprocess.run(
        inspekt_command("history", str(tmp_path / "elsewhere")), capture_output=True, text=True
    )
    assert empty.returncode == 1 and "no history recorded yet" in empty.stderr


def test_no_history_when_turned_off(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve(project(tmp_path), "--no-history")
    assert post(server, "bad").status_code == 200
    answer = requests.get(f"{server.url}/api/inspections", timeout=10)
    assert answer.status_code == 404 and "--no-history" in answer.json()["error"]
    assert requests.get(f"{server.url}/health/ready", timeout=10).json()["ready"] is True
    assert not (tmp_path / "line" / ".inspekt" / "history").exists()


def test_the_history_and_health_need_the_api_key(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(project(tmp_path), "--api-key", "k1")
    assert requests.get(f"{server.url}/api/inspections", timeout=10).status_code == 401
    assert requests.get(
        f"{server.url}/api/inspections", params={"api_key": "k1"}, timeout=10
    ).status_code == 200
    assert requests.get(f"{server.url}/health/live", timeout=10).status_code == 200


def test_an_unwritable_history_is_reported_never_fatal(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    folder = project(tmp_path)
    server = serve(folder)
    post(server, "bad")
    wait_for(server, 1)
    assert requests.get(f"{server.url}/health/ready", timeout=10).status_code == 200
    # the images' folder becomes a file: every image write now fails, as on a full disk
    images = folder / ".inspekt" / "history" / "images"
    for day in images.iterdir():
        for file in day.iterdir():
            file.unlink()
        day.rmdir()
    images.rmdir()
    images.write_text("in the way")
    assert post(server, "bad").status_code == 200  # the analysis is answered...
    deadline = time.monotonic() + 10
    while requests.get(f"{server.url}/health/ready", timeout=10).status_code == 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ready = requests.get(f"{server.url}/health/ready", timeout=10).json()
    assert ready["ready"] is False and ready["problems"][0].startswith("history: ")
    answer = post(server, "good", response_type="context")  # ...and says why it is not kept
    assert answer.status_code == 200 and answer.json()["result"] is True
    assert any(e.startswith("history: the last write failed: ") for e in answer.json()["errors"])
    images.unlink()
    post(server, "bad")  # writes work again: ready again
    deadline = time.monotonic() + 10
    while requests.get(f"{server.url}/health/ready", timeout=10).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_viewer_password_opens_the_history_but_not_reviews_or_analyses(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(project(tmp_path), "--api-key", "k1", "--viewer-password", "v1")
    assert post(server, "bad", api_key="k1").status_code == 200
    (item,) = wait_for(server, 1, api_key="v1")
    for path in ("/api/summary", "/metrics", f"/api/inspections/{item['id']}"):
        assert requests.get(server.url + path, params={"api_key": "v1"}, timeout=10).ok, path
    review = requests.post(
        f"{server.url}/api/inspections/{item['id']}/review", params={"api_key": "v1"},
        json={"verdict": "wrong"}, timeout=10,
    )
    assert review.status_code == 401
    assert post(server, "bad", api_key="v1").status_code == 401



def test_retention_keeps_the_newest_and_removes_the_others_files(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    folder = project(tmp_path)
    server = serve(folder)
    for index in range(6):
        post(server, f"bad{index}")
    wait_for(server, 6)
    server.stop()
    images = folder / ".inspekt" / "history" / "images"
    assert len(list(images.rglob("*_input.png"))) == 6
    server = serve(folder, "--history-max-count", "3")  # pruned when the server starts
    deadline = time.monotonic() + 15
    while len(items := wait_for(server, 0)) != 3:
        assert time.monotonic() < deadline, items
        time.sleep(0.05)
    assert [item["data"] for item in items] == ["bad5", "bad4", "bad3"]
    assert len(list(images.rglob("*_input.png"))) == 3


def test_raw_pixels_are_kept_losslessly_as_bmp(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(project(tmp_path))
    image = color_card(400, 300)
    answer = requests.post(
        f"{server.url}/analyze_raw_image",
        params={"width": "400", "height": "300", "data": "bad"}, data=image.tobytes(), timeout=30,
    )
    assert answer.status_code == 200
    (item,) = wait_for(server, 1)
    stored = requests.get(server.url + item["images"]["input"], timeout=10)
    assert stored.headers["content-type"] == "image/bmp"
    assert (decode(stored.content) == image).all()
