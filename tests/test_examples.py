"""The README's client examples run unchanged against a real inspekt server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import DATA_DIR, Server, code_flow, write_project

EXAMPLES = Path(__file__).parents[1] / "examples"
IMAGES = DATA_DIR / "hazelnut" / "train" / "good"
SCORE = "def main(context):\n    context['score'] = 0.25\n    context['result'] = True\n"


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=120
    )


def test_camera_loop(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve(write_project(tmp_path / "p", code_flow("s.py"), {"s.py": SCORE}))
    done = run_example("camera_loop.py", str(IMAGES), "--url", server.url, "--frames", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(": OK score=0.25") == 5 and "0 NOK" in done.stdout


def test_folder_loop_with_api_key(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve(
        write_project(tmp_path / "p", code_flow("s.py"), {"s.py": SCORE}), "--api-key", "k-1"
    )
    out = tmp_path / "out"
    done = run_example(
        "folder_loop.py", str(IMAGES), str(out), "--url", server.url, "--api-key", "k-1"
    )
    assert done.returncode == 0, done.stderr
    images = sorted(IMAGES.glob("*.jpg"))
    assert len(list(out.glob("*_annotated.png"))) == len(images)
    assert json.loads((out / f"{images[0].stem}.json").read_text())["data"] == images[0].name
    wrong = run_example(
        "folder_loop.py", str(IMAGES), str(out), "--url", server.url, "--api-key", "nope"
    )
    assert wrong.returncode == 1 and "HTTP 401" in wrong.stdout
