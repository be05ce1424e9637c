"""The framework's own refusals (unknown path, wrong method) answer inspekt's JSON error body."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import Server, free_port, inspekt_command, start_process, write_project


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    project = write_project(tmp_path_factory.mktemp("projects") / "empty")
    port = free_port()
    process, output = start_process(inspekt_command("serve", str(project), "--port", str(port)))
    server = Server(process, f"http://127.0.0.1:{port}", output)
    yield server
    server.stop()


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ["/nope", "/analyze_image/extra", "/docs", "/redoc"])
def test_unknown_path_is_a_json_404(server: Server, method: str, path: str) -> None:
    response = requests.request(method, server.url + path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": f"no endpoint {path}", "code": "not_found"}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/analyze_raw_image", {"POST", "PUT"}),
        ("DELETE", "/analyze_image", {"GET", "POST"}),
        ("PUT", "/analyze_image", {"GET", "POST"}),
        ("GET", "/analyze_image_shared_memory", {"POST"}),
        ("POST", "/ping", {"GET", "HEAD"}),
        ("POST", "/version", {"GET"}),
    ],
)
def test_wrong_method_is_a_json_405_with_allow(
    server: Server, method: str, path: str, allowed: set[str]
) -> None:
    response = requests.request(method, server.url + path)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == allowed
    body = response.json()
    assert body["code"] == "method_not_allowed"
    assert body["error"].startswith(f"{method} is not allowed on {path} (allowed: ")


def test_get_analyze_image_without_a_form_is_a_405_that_says_how(server: Server) -> None:
    for body in (None, b"\xff\xd8 a bare JPEG body"):
        response = requests.get(f"{server.url}/analyze_image", data=body)
        assert response.status_code == 405
        assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}
        assert response.json()["code"] == "method_not_allowed"
        assert "multipart" in response.json()["error"] and "POST" in response.json()["error"]


def test_head_on_an_unknown_path_keeps_its_status(server: Server) -> None:
    response = requests.head(f"{server.url}/nope")
    assert response.status_code == 404 and response.content == b""
    assert requests.get(f"{server.url}/ping").status_code == 200
