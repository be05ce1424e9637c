"""``inspekt pekat-dist``: both launcher layouts start the server the way PEKAT's SDKs expect."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import (
    color_card,
    encode,
    free_port,
    inspekt_command,
    read_until_ready,
    write_project,
)

LAYOUTS = ["pekat_vision/pekat_vision", "server/server.exe"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        inspekt_command("pekat-dist", str(directory)), capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == [str(directory / layout) for layout in LAYOUTS]
    return directory


def test_both_layouts_are_the_same_executable(dist: Path) -> None:
    launchers = [dist / layout for layout in LAYOUTS]
    for launcher in launchers:
        assert launcher.stat().st_mode & 0o111, launcher
    assert launchers[0].read_bytes() == launchers[1].read_bytes()


@pytest.mark.parametrize("flag", ["-data", "-d"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_launcher_serves_until_stopped(dist: Path, tmp_path: Path, layout: str, flag: str) -> None:
    port = free_port()
    # As the SDKs start it: stderr into stdout, read only until the server is up.
    process = subprocess.Popen(
        [str(dist / layout), flag, str(write_project(tmp_path / "p")), "-port", str(port),
         "-host", "127.0.0.1", "-stop_key", "k"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        startup = [line.strip() for line in read_until_ready(process)]
        assert "__SERVER_RUNNING__" in startup and startup[-1] == "STOP_INIT_MODEL", startup
        url = f"http://127.0.0.1:{port}"
        assert requests.get(f"{url}/ping").status_code == 200
        analysed = requests.post(f"{url}/analyze_image", data=encode(color_card()))
        assert analysed.status_code == 200 and analysed.json()["error"] is False
        assert requests.get(f"{url}/stop?key=k").status_code == 200
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    # Nothing per request: the SDKs never read this pipe again, a full one would stall the server.
    assert "/ping" not in rest and "/analyze_image" not in rest, rest
