"""The container image: built from the Dockerfile, non-root, with a health check on
/health/ready, serving a trained project mounted at /project.

Skipped with the reason where no Docker daemon answers (``docker info``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import color_card, encode, free_port, inspekt_command

REPO = Path(__file__).parents[1]
DOCKER = shutil.which("docker")


def _daemon_answers() -> bool:
    if DOCKER is None:
        return False
    try:
        return subprocess.run([DOCKER, "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = pytest.mark.skipif(
    not _daemon_answers(), reason="needs a running Docker daemon (docker info failed)"
)


def test_the_image_builds_runs_as_a_user_and_serves_a_mounted_project(tmp_path: Path) -> None:
    assert DOCKER is not None
    tag = f"inspekt-test-{uuid.uuid4().hex[:8]}"
    built = subprocess.run(
        [DOCKER, "build", "-t", tag, str(REPO)], capture_output=True, text=True, timeout=1800
    )
    assert built.returncode == 0, built.stderr[-3000:]
    try:
        config = json.loads(subprocess.run(
            [DOCKER, "image", "inspect", tag], capture_output=True, text=True, check=True
        ).stdout)[0]["Config"]
        assert config["User"] == "inspekt" and "/health/ready" in " ".join(
            config["Healthcheck"]["Test"]
        )
        project = tmp_path / "demo"
        shutil.copytree(REPO / "demo", project, ignore=shutil.ignore_patterns("models", ".inspekt"))
        subprocess.run(inspekt_command("train", str(project)), check=True, capture_output=True)
        project.chmod(0o777)  # the container's user writes its history there
        port = free_port()
        name = f"{tag}-run"
        subprocess.run(
            [DOCKER, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000",
             "-v", f"{project}:/project", tag], check=True, capture_output=True,
        )
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline, "the container never became ready"
                time.sleep(1)
            answer = requests.post(
                f"http://127.0.0.1:{port}/analyze_image", data=encode(color_card()), timeout=60
            )
            assert answer.status_code == 200 and "result" in answer.json()
        finally:
            subprocess.run([DOCKER, "rm", "-f", name], capture_output=True)
    finally:
        subprocess.run([DOCKER, "rmi", "-f", tag], capture_output=True)
