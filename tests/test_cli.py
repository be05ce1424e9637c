"""The command line: exit codes, one-line errors, templates."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pytest
import requests

import inspekt
from inspekt.flow import load_project, project_warnings
from inspekt.server import API_KEY_FILE
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
    context = response.json()
    assert context["result"] is True  # the empty flow judges nothing: PEKAT's default OK
    assert ("image 96x64" in context["stdout"]) is (template == "code")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_init_keeps_the_stored_api_key_out_of_git(tmp_path: Path) -> None:
    project = tmp_path / "p"
    assert run("init", str(project), "--template", "code").returncode == 0
    key = project / API_KEY_FILE  # where `serve --secure` stores it
    key.parent.mkdir()
    key.write_text("553d7790-827c-11ec-978b-6da1176c0b00\n")
    git = ["git", "-C", str(project)]
    subprocess.run([*git, "init", "-q"], check=True)
    assert subprocess.run([*git, "check-ignore", "-q", str(key)]).returncode == 0
    untracked = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=all"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "main.py" in untracked and ".inspekt" not in untracked


def test_version() -> None:
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout == f"inspekt {inspekt.__version__}\n"
    assert inspekt.__version__ == version("inspekt")


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
    assert described["anomaly@1"]["learns_from"] == "good_images"
    assert described["crop@1"]["learns_from"] is None
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
        port = busy.getsockname()[1]
        done = run("serve", str(project), "--port", str(port))
    assert done.returncode == 1
    # the SDKs' exact text, explained on the same line
    [line] = [line for line in done.stderr.splitlines() if "inspekt: error:" in line]
    assert "OSError: [Errno 48] Address already in use" in line
    assert f"port {port} on 127.0.0.1 is taken" in line and "PEKAT" in line


def test_serve_warns_about_the_project_at_start(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    project = write_project(tmp_path / "p")  # an empty flow
    warnings = project_warnings(load_project(project))
    assert warnings
    server = serve(project)
    for warning in warnings:
        assert f"inspekt: WARNING: {warning}\n" in server.output
