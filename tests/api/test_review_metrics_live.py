"""Reviews that make training data, Prometheus metrics, and the dashboard's live feed,
over HTTP against served projects (one with an anomaly module and its good images)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.api.test_history_api import post, project, wait_for
from tests.conftest import Server, decode, encode, inspekt_command, write_project
from tests.modules.test_anomaly import HAZELNUT, SMALL_MODEL, good_image, with_blob

NUTS = f"flow:\n  - {{type: anomaly, name: nut, {SMALL_MODEL}}}\n"


def test_a_wrong_verdict_becomes_training_data_and_can_be_undone(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    folder = project(tmp_path)
    server = serve(folder, "--history-ok-images", "1")
    post(server, "bad")
    post(server, "good")
    flagged, passed = wait_for(server, 2)[::-1]
    url = f"{server.url}/api/inspections"
    # a NOK marked wrong is a good part: no anomaly module here, so it waits to be labelled
    marked = requests.post(f"{url}/{flagged['id']}/review", json={"verdict": "wrong"}, timeout=10)
    assert marked.status_code == 200, marked.text
    review = marked.json()["review"]
    assert review["verdict"] == "wrong"
    assert review["files"] == [f"to_label/reviewed_{flagged['id']}.png"]
    copied = folder / review["files"][0]
    assert (decode(copied.read_bytes()) == decode(
        requests.get(server.url + flagged["images"]["input"], timeout=10).content
    )).all()
    listed = requests.get(f"{server.url}/api/reviews", timeout=10).json()["items"]
    assert [item["id"] for item in listed] == [flagged["id"]]
    undone = requests.delete(f"{url}/{flagged['id']}/review", timeout=10)
    assert undone.status_code == 200 and undone.json()["review"] is None and not copied.exists()
    again = requests.delete(f"{url}/{flagged['id']}/review", timeout=10)
    assert again.status_code == 404 and "no review to undo" in again.json()["error"]
    confirmed = requests.post(f"{url}/{passed['id']}/review", json={"verdict": "right"}, timeout=10)
    assert confirmed.json()["review"]["files"] == [f"to_label/reviewed_{passed['id']}.png"]
    bad = requests.post(f"{url}/{passed['id']}/review", json={"verdict": "maybe"}, timeout=10)
    assert bad.status_code == 400 and '{"verdict": "wrong"}' in bad.json()["error"]


def test_a_reviewed_good_part_lands_in_the_anomaly_modules_good_images(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    folder = write_project(tmp_path / "nuts", NUTS)
    shutil.copytree(HAZELNUT / "train" / "good", folder / "images" / "good")
    trained = subprocess.run(
        inspekt_command("train", str(folder)), capture_output=True, text=True, timeout=600
    )
    assert trained.returncode == 0, trained.stderr
    server = serve(folder)
    requests.post(f"{server.url}/analyze_image", data=encode(with_blob(good_image())), timeout=60)
    (item,) = wait_for(server, 1)
    assert item["result"] == "nok", item
    marked = requests.post(
        f"{server.url}/api/inspections/{item['id']}/review", json={"verdict": "wrong"}, timeout=10
    ).json()
    assert "review" in marked, marked
    assert marked["review"]["files"] == [f"images/good/reviewed_{item['id']}.png"]
    assert (folder / "images" / "good" / f"reviewed_{item['id']}.png").is_file()


def test_metrics_count_requests_inspections_and_modules(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(project(tmp_path))
    for data in ("good", "bad", "boom"):
        post(server, data)
    requests.get(f"{server.url}/api/inspections/999", timeout=10)
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines() if line and not line.startswith("#")
    }
    assert samples['inspekt_requests_total{endpoint="/analyze_image",status="200"}'] == 3
    one = 'inspekt_requests_total{endpoint="/api/inspections/{record_id}",status="404"}'
    assert samples[one] == 1
    assert samples['inspekt_inspections_total{result="ok"}'] == 1
    assert samples['inspekt_inspections_total{result="nok"}'] == 1
    assert samples['inspekt_inspections_total{result="error"}'] == 1
    assert samples["inspekt_analysis_seconds_count"] == 3
    assert samples['inspekt_module_seconds_count{module="verdict"}'] == 2
    assert samples["inspekt_queue_depth"] == 0 and samples["inspekt_model_load_seconds"] > 0
    assert samples["inspekt_history_write_failures_total"] == 0


def test_the_event_stream_sends_the_live_numbers_and_the_image_follows(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(project(tmp_path))
    assert requests.get(f"{server.url}/api/live/annotated.jpg", timeout=10).status_code == 404
    with requests.get(f"{server.url}/api/events", stream=True, timeout=10) as stream:
        lines = stream.iter_lines(decode_unicode=True)
        first = next(line for line in lines if line.startswith("data: "))
        assert json.loads(first[6:])["last"] is None
        for data in ("good", "bad", "bad"):
            post(server, data)
        deadline = time.monotonic() + 10
        while True:
            update = json.loads(next(line for line in lines if line.startswith("data: "))[6:])
            if update["counts"]["nok"] == 2 or time.monotonic() > deadline:
                break
    assert update["counts"] == {"ok": 1, "nok": 2, "error": 0, "-": 0}
    assert update["yield_percent"] == 33.33 and update["recording"] is True
    assert update["last"]["result"] == "nok" and update["last"]["seq"] == 3
    assert update["throughput"] > 0 and update["latency_ms"]["p50"] > 0
    live = requests.get(f"{server.url}/api/live/annotated.jpg", timeout=10)
    assert live.headers["content-type"] == "image/jpeg"
    assert decode(live.content).shape == (300, 400, 3)


def test_the_dashboard_page_and_its_files_are_served(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(project(tmp_path), "--api-key", "k1")
    page = requests.get(f"{server.url}/", timeout=10)  # the page asks for the key itself
    assert page.status_code == 200 and "/dashboard/app.js" in page.text
    assert requests.get(f"{server.url}/dashboard/app.js", timeout=10).status_code == 200
    assert requests.get(f"{server.url}/dashboard/nothing.js", timeout=10).status_code == 404
    assert requests.get(f"{server.url}/api/events", timeout=10).status_code == 401
    assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 401
