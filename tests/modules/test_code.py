"""Code module semantics, one by one, on real project folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inspekt import FlowRunner, ProjectError, load_project
from inspekt.flow import context_to_json
from tests.conftest import code_flow, real_image, write_project


def runner_for(tmp_path: Path, files: dict[str, str], allow_code: bool = True) -> FlowRunner:
    flow = code_flow(*[name for name in files if name.endswith(".py")])
    return FlowRunner(load_project(write_project(tmp_path / "p", flow, files), allow_code=allow_code))


def as_json(context: dict) -> dict:
    return json.loads(context_to_json(context))


def test_main_with_one_argument(tmp_path: Path) -> None:
    runner = runner_for(tmp_path, {"a.py": "def main(context):\n    context['seen'] = context['data']\n"})
    assert runner.analyze(real_image(), "abc")["seen"] == "abc"


def test_main_with_module_item(tmp_path: Path) -> None:
    code = "def main(context, module_item):\n    context['item'] = dict(module_item)\n"
    context = runner_for(tmp_path, {"b.py": code}).analyze(real_image())
    assert context["item"]["name"] == "b" and context["item"]["file"] == "b.py"


def test_edits_in_place_and_user_keys_are_returned(tmp_path: Path) -> None:
    code = """
import numpy as np

class Thing:
    def __repr__(self):
        return "<thing>"

def main(context):
    context["result"] = False
    context["score"] = np.float32(0.5)
    context["array"] = np.arange(3)
    context["tags"] = {"a"}
    context["thing"] = Thing()
    context["detectedRectangles"].append({"x": np.int64(1), "y": 2, "width": 3, "height": 4})
"""
    public = as_json(runner_for(tmp_path, {"c.py": code}).analyze(real_image()))
    assert public["result"] is False and public["score"] == 0.5
    assert public["array"] == [0, 1, 2] and public["tags"] == ["a"] and public["thing"] == "<thing>"
    assert public["detectedRectangles"] == [{"x": 1, "y": 2, "width": 3, "height": 4}]


def test_exit_stops_the_rest_of_the_flow(tmp_path: Path) -> None:
    files = {
        "first.py": "def main(context):\n    context['exit'] = True\n",
        "second.py": "def main(context):\n    context['second'] = True\n",
    }
    context = runner_for(tmp_path, files).analyze(real_image())
    assert "second" not in context
    assert "exit" not in as_json(context)


def test_print_goes_to_stdout_and_stderr(tmp_path: Path) -> None:
    code = "import sys\n\ndef main(context):\n    print('hello', 42)\n    print('careful', file=sys.stderr)\n"
    context = runner_for(tmp_path, {"p.py": code}).analyze(real_image())
    assert context["stdout"] == "hello 42\n"
    assert context["stderr"] == "careful\n"


def test_exception_is_reported_and_the_flow_goes_on(tmp_path: Path) -> None:
    files = {
        "boom.py": "def main(context):\n    print('before')\n    1 / 0\n",
        "after.py": "def main(context):\n    context['after'] = True\n",
    }
    runner = runner_for(tmp_path, files)
    context = runner.analyze(real_image())
    assert context["errors"] == ["code module 'boom': ZeroDivisionError: division by zero"]
    assert "Traceback" in context["stderr"] and "1 / 0" in context["stderr"]
    assert context["stdout"] == "before\n" and context["after"] is True
    assert runner.analyze(real_image())["errors"] == [context["errors"][0]]  # and again next time


def test_sys_exit_in_user_code_is_an_error_not_a_crash(tmp_path: Path) -> None:
    runner = runner_for(tmp_path, {"q.py": "import sys\n\ndef main(context):\n    sys.exit(3)\n"})
    assert "SystemExit" in runner.analyze(real_image())["errors"][0]


def test_global_data_persists_across_images(tmp_path: Path) -> None:
    code = "def main(context):\n    g = context['globalData']\n    g['n'] = g.get('n', 0) + 1\n"
    runner = runner_for(tmp_path, {"g.py": code})
    counts = [runner.analyze(real_image())["globalData"]["n"] for _ in range(3)]
    assert counts == [1, 2, 3]


def test_replaced_image_changes_the_shape(tmp_path: Path) -> None:
    code = "def main(context):\n    context['image'] = context['image'][10:50, 20:100, 0]\n"
    context = runner_for(tmp_path, {"crop.py": code}).analyze(real_image())
    assert context["imageShape"] == {"height": 40, "width": 80}
    assert context["image"].shape == (40, 80)


def test_disable_code_never_executes_the_file(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    code = f"open({str(marker)!r}, 'w').close()\n\ndef main(context):\n    context['ran'] = True\n"
    context = runner_for(tmp_path, {"x.py": code}, allow_code=False).analyze(real_image())
    assert not marker.exists() and "ran" not in context
    assert "disabled" in context["errors"][0]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("def main(context)\n    pass\n", ["x.py:1", "syntax error"]),
        ("def helper(context):\n    pass\n", ["x.py", "no main"]),
        ("raise RuntimeError('no camera')\n", ["x.py", "RuntimeError: no camera"]),
        ("def main():\n    pass\n", ["x.py", "main must take context"]),
    ],
)
def test_broken_user_file_fails_at_load_naming_it(tmp_path: Path, code: str, words: list[str]) -> None:
    with pytest.raises(ProjectError) as caught:
        runner_for(tmp_path, {"x.py": code})
    for word in words:
        assert word in caught.value.message


def test_missing_user_file(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", code_flow("gone.py"))
    with pytest.raises(ProjectError, match="gone.py: file not found"):
        load_project(project)
