"""The command line: exit codes, one-line errors, templates."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.conftest import Server, color_card, encode, inspekt_command, write_project


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(inspekt_command(*args), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("template", ["empty", "code"])
def test_init_creates_a_project_that_validates_and_serves(
    tmp_path: Path, template: str, serve: Callable[..., Server]
) -> None:
    project = tmp_path / template
    assert run("init", str(project), "--template", template).returncode == 0
    done = run("validate", str(project))
    assert done.returncode == 0, done.stderr
    server = serve(project)
    response = requests.post(f"{server.url}/analyze_image", data=encode(color_card()))
    assert response.status_code == 200
    assert response.json()["result"] is (True if template == "code" else None)


def test_init_refuses_a_non_empty_folder_and_unknown_templates(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    done = run("init", str(tmp_path / "full"))
    assert done.returncode == 1 and "not empty" in done.stderr
    done = run("init", str(tmp_path / "new"), "--template", "nonsense")
    assert done.returncode == 1 and "unknown template" in done.stderr


def test_validate_lists_every_problem(tmp_path: Path) -> None:
    flow = (
        "flow:\n  - {type: code}\n  - {type: sparkle}\n"
        "  - {type: crop, x: -1, y: 0, width: 1, height: 1}\n"
    )
    project = write_project(tmp_path / "p", flow)
    (project / "pekat_package.json").write_text("{}")
    done = run("validate", str(project))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 4, done.stderr
    assert "pekat_package.json" in lines[0]
    assert "flow[0]" in lines[1] and "file" in lines[1]
    assert "flow[1].type" in lines[2] and "sparkle" in lines[2]
    assert "flow[2]" in lines[3] and "x" in lines[3]


def test_modules_lists_every_type_with_its_options() -> None:
    import json

    done = run("modules", "--json")
    assert done.returncode == 0
    described = json.loads(done.stdout)
    for type_id in (
        "code@1", "anomaly@1", "crop@1", "evaluate@1", "gate@1", "webhook@1", "image_saver@1"
    ):
        assert type_id in described
    assert "file" in described["code@1"]["required"]
    assert described["anomaly@1"]["trainable"] is True
    assert "description" in described["crop@1"]["options"]["x"]
    assert "input_size" in described["anomaly@1"]["options"]["model"]["properties"]
    assert "    model.input_size (default " in run("modules").stdout


def test_broken_project_is_one_line_and_exit_1(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "flow:\n  - type: code\n")
    for command in ("serve", "validate", "analyze"):
        done = run(command, str(project), *(["."] if command == "analyze" else []))
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "flow.yaml" in lines[0] and "file" in lines[0], done.stderr
        assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = run("--debug", "serve", str(tmp_path / "missing"))
    assert done.returncode == 1 and "Traceback" in done.stderr


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    assert run("serve").returncode == 2
    assert run("serve", str(tmp_path), "--port", "eighty").returncode == 2
    assert run("frobnicate").returncode == 2


def test_serve_on_a_busy_port(tmp_path: Path) -> None:
    import socket

    project = write_project(tmp_path / "p")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        done = run("serve", str(project), "--port", str(busy.getsockname()[1]))
    assert done.returncode == 1
    assert "Address already in use" in done.stderr
