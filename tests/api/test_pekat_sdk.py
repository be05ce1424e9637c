"""PEKAT's own Python SDK starts inspekt through the launcher and analyses images."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PekatVisionSDK import Instance
from PekatVisionSDK.errors import PortIsAllocatedError

from tests.conftest import DATA_DIR, code_flow, inspekt_command, real_image, write_project

ECHO = """
def main(context, module_item):
    context["dataFound"] = context["data"]
    context["module"] = module_item["name"]
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dist")
    subprocess.run(inspekt_command("pekat-dist", str(directory)), check=True, capture_output=True)
    assert (directory / "pekat_vision" / "pekat_vision").stat().st_mode & 0o111
    return directory


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("p") / "echo", code_flow("echo.py"), {"echo.py": ECHO}
    )


def test_sdk_start_analyze_stop(dist: Path, project: Path) -> None:
    instance = Instance(project, dist_path=dist)
    process = instance.process
    assert process is not None and process.poll() is None
    try:
        image = real_image()
        path = sorted((DATA_DIR / "hazelnut").glob("**/*.jpg"))[0]
        assert instance._can_use_shm  # numpy arrays travel through shared memory
        for source in (image, path.read_bytes(), str(path)):
            for response_type in ("context", "image", "annotated_image", "heatmap"):
                result = instance.analyze(source, response_type=response_type, data="42")
                assert result.context["dataFound"] == "42"
                assert result.context["module"] == "echo"
                if response_type == "context":
                    assert result.image_bytes is None
                    continue
                decoded = result.get_decoded_image()
                assert decoded.shape == image.shape
                if response_type == "image" and isinstance(source, np.ndarray):
                    assert np.array_equal(decoded, image)
        assert instance.analyze(image).context["dataFound"] == "None"  # the SDK's literal
    finally:
        instance.stop()
    assert process.wait(timeout=15) == 0


def test_sdk_header_context_mode(dist: Path, project: Path) -> None:
    instance = Instance(project, dist_path=dist, context_in_body=False)
    try:
        result = instance.analyze(real_image(), response_type="annotated_image", data="x")
        assert result.context["dataFound"] == "x"
        assert result.get_decoded_image().shape == real_image().shape
    finally:
        instance.stop()
    assert instance.process is not None and instance.process.wait(timeout=15) == 0


# The SDK's __del__ then tries to /stop the process that never started, and times out.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_launcher_reports_a_busy_port(dist: Path, project: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        launcher = dist / "pekat_vision" / "pekat_vision"
        done = subprocess.run(
            [str(launcher), "-data", str(project), "-port", str(port),
             "-host", "127.0.0.1", "-stop_key", "k"],
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode != 0
        assert "OSError: [Errno 48] Address already in use" in done.stdout + done.stderr
        with pytest.raises(PortIsAllocatedError):
            Instance(project, dist_path=dist, port=port)


def test_launcher_accepts_every_pekat_flag(dist: Path, project: Path, tmp_path: Path) -> None:
    launcher = dist / "pekat_vision" / "pekat_vision"
    from tests.conftest import free_port, start_process

    port = free_port()
    process, output = start_process([
        str(launcher), "-data", str(project), "-port", str(port), "-host", "127.0.0.1",
        "-stop_key", "k", "-api_key", "key1", "-gpu", "0", "-password", "pw",
        "-disable_code", "true", "-tutorial_only", "false",
    ], ready="STOP_INIT_MODEL")
    try:
        assert any("__SERVER_RUNNING__" in line for line in output)
        import requests

        ok, png = cv2.imencode(".png", real_image())
        url = f"http://127.0.0.1:{port}/analyze_image"
        assert requests.post(url, data=png.tobytes()).status_code == 401
        context = requests.post(f"{url}?api_key=key1", data=png.tobytes()).json()
        assert "disabled" in context["errors"][0] and "dataFound" not in context
        assert requests.get(f"http://127.0.0.1:{port}/stop?key=k").status_code == 200
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
