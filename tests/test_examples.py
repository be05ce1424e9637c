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
    assert wrong.returncode == 1 and "HTTP 401" in wrong.stdout and "api_key" in wrong.stdout
    assert len(wrong.stdout.strip().splitlines()) == 1 and "Traceback" not in wrong.stderr


def test_folder_loop_on_an_open_server_needs_no_key(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(write_project(tmp_path / "p", code_flow("s.py"), {"s.py": SCORE}))
    done = run_example("folder_loop.py", str(IMAGES), str(tmp_path / "out"), "--url", server.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("result=True score=0.25") == len(list(IMAGES.glob("*.jpg")))


def test_examples_say_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    unreachable = run_example("camera_loop.py", str(IMAGES), "--url", "http://127.0.0.1:9")
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stdout
    empty = run_example("camera_loop.py", str(tmp_path))
    assert empty.returncode == 1 and "no .jpg, .png or .bmp images" in empty.stderr


def test_docstring_commands_name_folders_that_hold_images() -> None:
    demo_images = Path(__file__).parents[1] / "demo" / "images" / "test"
    assert list(demo_images.glob("*.jpg"))
    for name in ("camera_loop.py", "folder_loop.py"):
        assert "demo/images/test" in (EXAMPLES / name).read_text()
