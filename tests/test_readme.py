"""The README's Python SDK snippet works as pasted."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2

from tests.conftest import code_flow, inspekt_command, write_project

README = Path(__file__).parents[1] / "README.md"
SCORE = "def main(context):\n    context['score'] = 0.25\n"


def sdk_snippets() -> tuple[str, str]:
    """The shell line and the Python block under "PEKAT's Python SDK"."""
    section = README.read_text(encoding="utf-8").split("### PEKAT's Python SDK", 1)[1]
    shell = re.search(r"```bash\n(.*?)```", section, re.S)
    python = re.search(r"```python\n(.*?)```", section, re.S)
    assert shell and python
    return shell.group(1).strip(), python.group(1)


def test_the_sdk_snippet_runs_as_pasted(tmp_path: Path) -> None:
    shell, python = sdk_snippets()
    home = tmp_path / "home"
    home.mkdir()
    # The repository folder the snippet runs from: a demo project that needs no training.
    repo = tmp_path / "repo"
    write_project(repo / "demo", code_flow("s.py"), {"s.py": SCORE})
    test_images = repo / "demo" / "images" / "test"
    test_images.mkdir(parents=True)
    source = Path(__file__).parents[1] / "demo" / "images" / "test" / "colour_00.jpg"
    shutil.copy(source, test_images / "colour_00.jpg")
    env = {**os.environ, "HOME": str(home)}
    assert shell == 'inspekt pekat-dist "$HOME/inspekt-dist"'
    dist = subprocess.run(
        inspekt_command("pekat-dist", str(home / "inspekt-dist")), capture_output=True, text=True
    )
    assert dist.returncode == 0, dist.stderr
    done = subprocess.run(
        [sys.executable, "-c", python], cwd=repo, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "0.25"]
    assert cv2.imread(str(repo / "annotated.png")) is not None
