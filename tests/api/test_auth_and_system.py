"""Secure image analyze, /ping, /version, /stop and /last_image on real servers."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.conftest import (
    Server,
    code_flow,
    color_card,
    encode,
    free_port,
    inspekt_command,
    start_process,
    write_project,
)

KEY = "553d7790-827c-11ec-978b-6da1176c0b00"


def analyze(server: Server, query: str = "") -> requests.Response:
    return requests.post(f"{server.url}/analyze_image?{query}", data=encode(color_card()))


def test_api_key_required_when_set(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve(write_project(tmp_path / "p"), "--api-key", KEY)
    for query in ["", "api_key=", "api_key=wrong", f"api_key={KEY[:-1]}"]:
        response = analyze(server, query)
        assert response.status_code == 401, query
        assert "api_key" in response.json()["error"]
    assert analyze(server, f"api_key={KEY}").status_code == 200
    raw = requests.post(f"{server.url}/analyze_raw_image?width=2&height=2", data=bytes(12))
    assert raw.status_code == 401
    assert requests.get(f"{server.url}/ping").status_code == 200
    assert KEY not in "".join(server.output)


def test_with_a_key_last_image_and_the_schema_need_it_too(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(write_project(tmp_path / "p"), "--api-key", KEY)
    assert analyze(server, f"api_key={KEY}").status_code == 200
    for path in ("/last_image", "/openapi.json"):
        for query in ("", "?api_key=", "?api_key=wrong", f"?api_key={KEY[:-1]}"):
            refused = requests.get(f"{server.url}{path}{query}")
            assert refused.status_code == 401, (path, query)
            assert refused.json()["code"] == "unauthorized"
    image = requests.get(f"{server.url}/last_image?api_key={KEY}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    schema = requests.get(f"{server.url}/openapi.json?api_key={KEY}")
    assert schema.status_code == 200 and "/analyze_image" in schema.json()["paths"]
    assert "/openapi.json" not in schema.json()["paths"]
    # SDKs poll these before they send any key
    assert requests.get(f"{server.url}/ping").status_code == 200
    assert requests.get(f"{server.url}/version").text == "3.18.0"
    assert requests.get(f"{server.url}/docs?api_key={KEY}").status_code == 404  # off


def test_api_key_ignored_when_security_is_off(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve(write_project(tmp_path / "p"))
    assert analyze(server, "api_key=anything").status_code == 200


def test_api_key_from_environment(tmp_path: Path) -> None:
    import os
    import subprocess

    port = free_port()
    env = {**os.environ, "INSPEKT_API_KEY": KEY, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        inspekt_command("serve", str(write_project(tmp_path / "p")), "--port", str(port)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        assert process.stdout is not None
        while "__SERVER_RUNNING__" not in process.stdout.readline():
            pass
        url = f"http://127.0.0.1:{port}/analyze_image"
        assert requests.post(url, data=encode(color_card())).status_code == 401
        assert requests.post(f"{url}?api_key={KEY}", data=encode(color_card())).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_secure_generates_a_uuid1_key_once_and_keeps_it(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    project = write_project(tmp_path / "p")
    first = serve(project, "--secure")
    printed = re.findall(
        r"[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", "".join(first.output)
    )
    assert len(printed) == 1
    key = printed[0]
    assert analyze(first, f"api_key={key}").status_code == 200
    assert analyze(first).status_code == 401
    first.stop()
    second = serve(project, "--secure")
    assert key not in "".join(second.output)
    assert analyze(second, f"api_key={key}").status_code == 200


def test_ping_version_and_last_image_before_any_analysis(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(write_project(tmp_path / "p"))
    assert requests.get(f"{server.url}/ping").status_code == 200
    assert requests.head(f"{server.url}/ping").status_code == 200
    version = requests.get(f"{server.url}/version").text
    assert tuple(int(x) for x in version.split(".")) >= (3, 18, 0)
    assert requests.get(f"{server.url}/last_image").status_code == 404
    paths = requests.get(f"{server.url}/openapi.json").json()["paths"]
    assert set(paths["/analyze_image"]) == {"get", "post"}
    assert set(paths["/analyze_raw_image"]) == {"post", "put"}
    operation_ids = [op["operationId"] for path in paths.values() for op in path.values()]
    assert len(operation_ids) == len(set(operation_ids))
    assert not any("Duplicate Operation ID" in line for line in server.output)


def test_stop_needs_the_key(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve(write_project(tmp_path / "p"), "--stop-key", "s3cret")
    for url in ["/stop", "/stop?key=", "/stop?key=wrong"]:
        assert requests.get(server.url + url).status_code == 403
    assert requests.get(f"{server.url}/ping").status_code == 200
    assert requests.get(f"{server.url}/stop?key=s3cret").status_code == 200
    assert server.process.wait(timeout=10) == 0


def test_stop_without_a_stop_key_configured_is_refused(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(write_project(tmp_path / "p"))
    assert requests.get(f"{server.url}/stop?key=").status_code == 403
    assert requests.head(f"{server.url}/stop").status_code == 403
    assert server.process.poll() is None


SLOW = """
import time

def main(context):
    time.sleep(2)
    context["slept"] = True
"""


def test_ping_answers_while_a_slow_analysis_runs(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(
        write_project(tmp_path / "p", code_flow("slow.py"), {"slow.py": SLOW}), "--stop-key", "k"
    )
    results: list[requests.Response] = []
    worker = threading.Thread(target=lambda: results.append(analyze(server)))
    worker.start()
    time.sleep(0.3)  # the analysis is now sleeping in user code
    with requests.Session() as session:
        durations = []
        for _ in range(5):
            started = time.perf_counter()
            assert session.get(f"{server.url}/ping", timeout=5).status_code == 200
            durations.append(time.perf_counter() - started)
    assert worker.is_alive(), "the analysis should still be running"
    assert min(durations) < 0.1, durations
    # a stop request during the analysis lets it finish before the server exits
    assert requests.get(f"{server.url}/stop?key=k").status_code == 200
    worker.join(timeout=10)
    assert results[0].status_code == 200 and results[0].json()["slept"] is True
    assert server.process.wait(timeout=10) == 0


def test_cors_is_off_by_default(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve(write_project(tmp_path / "p"))
    preflight = requests.options(
        f"{server.url}/analyze_image",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in {k.lower() for k in preflight.headers}
    answer = requests.post(
        f"{server.url}/analyze_image", data=encode(color_card()), headers={"Origin": "http://x"}
    )
    assert "access-control-allow-origin" not in {k.lower() for k in answer.headers}


def test_listening_on_all_interfaces_without_a_key_warns(tmp_path: Path) -> None:
    port = free_port()
    process, output = start_process(
        inspekt_command(
            "serve", str(write_project(tmp_path / "p")), "--host", "0.0.0.0", "--port", str(port)
        )
    )
    try:
        assert any("WARNING" in line and "without an api key" in line for line in output)
    finally:
        process.terminate()
        process.wait(timeout=10)
