"""Code module semantics, one by one, on real project folders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from inspekt import FlowRunner, ProjectError, load_project
from inspekt.context import context_to_json
from inspekt.flow import validate_project
from tests.conftest import code_flow, real_image, write_project


@pytest.fixture(params=["process", "none"])
def isolation(request: pytest.FixtureRequest) -> str:
    """Every semantic holds with and without process isolation."""
    return str(request.param)


_OPENED: list[FlowRunner] = []


@pytest.fixture(autouse=True)
def close_runners() -> Iterator[None]:
    """Each test's runners are closed after it, child processes included."""
    yield
    while _OPENED:
        _OPENED.pop().close()


def runner_for(
    tmp_path: Path,
    files: dict[str, str],
    isolation: str = "process",
    allow_code: bool = True,
    **options: object,
) -> FlowRunner:
    flow = code_flow(
        *[name for name in files if name.endswith(".py")], isolation=isolation, **options
    )
    runner = FlowRunner(
        load_project(write_project(tmp_path / "p", flow, files), allow_code=allow_code)
    )
    _OPENED.append(runner)
    return runner


def as_json(context: dict) -> dict:
    return json.loads(context_to_json(context))


def test_main_with_one_argument(tmp_path: Path, isolation: str) -> None:
    runner = runner_for(
        tmp_path,
        isolation=isolation,
        files={"a.py": "def main(context):\n    context['seen'] = context['data']\n"},
    )
    assert runner.analyze(real_image(), "abc")["seen"] == "abc"


def test_main_with_module_item(tmp_path: Path, isolation: str) -> None:
    code = "def main(context, module_item):\n    context['item'] = dict(module_item)\n"
    context = runner_for(tmp_path, isolation=isolation, files={"b.py": code}).analyze(real_image())
    assert context["item"]["name"] == "b" and context["item"]["file"] == "b.py"


def test_edits_in_place_and_user_keys_are_returned(tmp_path: Path, isolation: str) -> None:
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
    public = as_json(
        runner_for(tmp_path, isolation=isolation, files={"c.py": code}).analyze(real_image())
    )
    assert public["result"] is False and public["score"] == 0.5
    assert public["array"] == [0, 1, 2] and public["tags"] == ["a"] and public["thing"] == "<thing>"
    assert public["detectedRectangles"] == [{"x": 1, "y": 2, "width": 3, "height": 4}]


def test_exit_stops_the_rest_of_the_flow(tmp_path: Path, isolation: str) -> None:
    files = {
        "first.py": "def main(context):\n    context['exit'] = True\n",
        "second.py": "def main(context):\n    context['second'] = True\n",
    }
    context = runner_for(tmp_path, files, isolation).analyze(real_image())
    assert "second" not in context
    assert "exit" not in as_json(context)


def test_print_goes_to_stdout_and_stderr(tmp_path: Path, isolation: str) -> None:
    code = (
        "import sys\n\ndef main(context):\n"
        "    print('hello', 42)\n    print('careful', file=sys.stderr)\n"
    )
    context = runner_for(tmp_path, isolation=isolation, files={"p.py": code}).analyze(real_image())
    assert context["stdout"] == "hello 42\n"
    assert context["stderr"] == "careful\n"


def test_exception_is_reported_and_the_flow_goes_on(tmp_path: Path, isolation: str) -> None:
    files = {
        "boom.py": "def main(context):\n    print('before')\n    1 / 0\n",
        "after.py": "def main(context):\n    context['after'] = True\n",
    }
    runner = runner_for(tmp_path, files, isolation)
    context = runner.analyze(real_image())
    assert context["errors"] == ["code module 'boom': ZeroDivisionError: division by zero"]
    assert "Traceback" in context["stderr"] and "1 / 0" in context["stderr"]
    assert context["stdout"] == "before\n" and context["after"] is True
    assert runner.analyze(real_image())["errors"] == [context["errors"][0]]  # and again next time


def test_sys_exit_in_user_code_is_an_error_not_a_crash(tmp_path: Path, isolation: str) -> None:
    runner = runner_for(
        tmp_path,
        isolation=isolation,
        files={"q.py": "import sys\n\ndef main(context):\n    sys.exit(3)\n"},
    )
    assert "SystemExit" in runner.analyze(real_image())["errors"][0]


def test_global_data_persists_across_images(tmp_path: Path, isolation: str) -> None:
    code = "def main(context):\n    g = context['globalData']\n    g['n'] = g.get('n', 0) + 1\n"
    runner = runner_for(tmp_path, isolation=isolation, files={"g.py": code})
    counts = [runner.analyze(real_image())["globalData"]["n"] for _ in range(3)]
    assert counts == [1, 2, 3]


def test_replaced_image_changes_the_shape(tmp_path: Path, isolation: str) -> None:
    code = "def main(context):\n    context['image'] = context['image'][10:50, 20:100, 0]\n"
    context = runner_for(tmp_path, isolation=isolation, files={"crop.py": code}).analyze(
        real_image()
    )
    assert context["imageShape"] == {"height": 40, "width": 80}
    assert context["image"].shape == (40, 80)


def test_disable_code_never_executes_the_file(tmp_path: Path, isolation: str) -> None:
    marker = tmp_path / "executed"
    code = f"open({str(marker)!r}, 'w').close()\n\ndef main(context):\n    context['ran'] = True\n"
    context = runner_for(tmp_path, {"x.py": code}, isolation, allow_code=False).analyze(
        real_image()
    )
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
def test_broken_user_file_fails_at_load_naming_it(
    tmp_path: Path, code: str, words: list[str], isolation: str
) -> None:
    with pytest.raises(ProjectError) as caught:
        runner_for(tmp_path, isolation=isolation, files={"x.py": code})
    for word in words:
        assert word in caught.value.message


def test_missing_user_file(tmp_path: Path, isolation: str) -> None:
    project = write_project(tmp_path / "p", code_flow("gone.py", isolation=isolation))
    assert validate_project(project) == [
        f"flow.yaml: flow[0] (code@1 'gone'): {project.resolve()}/gone.py: file not found"
    ]
    with pytest.raises(ProjectError, match="gone.py: file not found"):
        FlowRunner(load_project(project))


def test_module_state_persists_between_calls(tmp_path: Path, isolation: str) -> None:
    code = (
        "calls = []\n\ndef main(context):\n    calls.append(1)\n    context['calls'] = len(calls)\n"
    )
    runner = runner_for(tmp_path, {"s.py": code}, isolation)
    assert [runner.analyze(real_image())["calls"] for _ in range(3)] == [1, 2, 3]
    runner.close()


def test_output_is_capped(tmp_path: Path, isolation: str) -> None:
    code = "def main(context):\n    print('x' * 3_000_000)\n"
    runner = runner_for(tmp_path, {"loud.py": code}, isolation, max_output_kb=64)
    context = runner.analyze(real_image())
    assert len(context["stdout"]) < 70_000 and "more characters not kept" in context["stdout"]
    runner.close()


# Isolation only a child process can give.


def test_endless_loop_is_stopped_and_the_next_image_works(tmp_path: Path) -> None:
    code = (
        "def main(context):\n    while context['data'] == 'loop':\n        pass\n"
        "    context['done'] = True\n"
    )
    runner = runner_for(tmp_path, {"spin.py": code}, timeout=1)
    stuck = runner.analyze(real_image(), "loop")
    assert "no answer within 1 s" in stuck["errors"][0] and "restarts" in stuck["errors"][0]
    assert runner.analyze(real_image(), "go")["done"] is True
    runner.close()


def test_sleeping_past_the_timeout(tmp_path: Path) -> None:
    code = "import time\n\ndef main(context):\n    time.sleep(30)\n"
    runner = runner_for(tmp_path, {"nap.py": code}, timeout=0.5)
    assert "no answer within 0.5 s" in runner.analyze(real_image())["errors"][0]
    runner.close()


def test_wild_allocation_is_a_memory_error(tmp_path: Path) -> None:
    code = "def main(context):\n    context['big'] = bytearray(8 * 1024**3)\n"
    runner = runner_for(tmp_path, {"hog.py": code}, memory_mb=1024)
    context = runner.analyze(real_image())
    assert "MemoryError" in context["errors"][0] and "big" not in context
    runner.close()


def test_a_crash_costs_one_image(tmp_path: Path) -> None:
    code = (
        "import os\n\ndef main(context):\n"
        "    if context['data'] == 'crash':\n        os._exit(7)\n"
        "    context['alive'] = True\n"
    )
    runner = runner_for(tmp_path, {"die.py": code})
    assert "exited (code 7)" in runner.analyze(real_image(), "crash")["errors"][0]
    assert runner.analyze(real_image(), "ok")["alive"] is True
    runner.close()


def test_global_data_survives_a_restart(tmp_path: Path) -> None:
    code = (
        "def main(context):\n    g = context['globalData']\n    g['n'] = g.get('n', 0) + 1\n"
        "    if context['data'] == 'loop':\n        while True:\n            pass\n"
    )
    runner = runner_for(tmp_path, {"g.py": code}, timeout=0.5)
    runner.analyze(real_image(), "ok")
    runner.analyze(real_image(), "loop")  # its increment is lost with the killed child
    assert runner.analyze(real_image(), "ok")["globalData"]["n"] == 2
    runner.close()


def test_in_place_image_edits_are_kept(tmp_path: Path, isolation: str) -> None:
    code = "def main(context):\n    context['image'][:10, :10] = 0\n"
    runner = runner_for(tmp_path, {"paint.py": code}, isolation)
    image = real_image()
    out = runner.analyze(image.copy())["image"]
    assert out[:10, :10].max() == 0 and np.array_equal(out[10:], image[10:])
    runner.close()


@pytest.mark.parametrize(
    ("verdict", "result", "error"),
    [
        ("True", True, False),
        ("np.bool_(False)", False, False),
        ("1", True, False),
        ("0", False, False),
        ("None", False, True),
        ("'false'", False, True),
        ("2", False, True),
    ],
)
def test_result_is_always_a_bool(tmp_path: Path, verdict: str, result: bool, error: bool) -> None:
    code = f"import numpy as np\n\ndef main(context):\n    context['result'] = {verdict}\n"
    context = runner_for(tmp_path, {"v.py": code}).analyze(real_image())
    assert context["result"] is result and context["error"] is error
    if error:
        assert "not true or false" in context["errors"][-1]


def test_a_deleted_result_is_no_verdict(tmp_path: Path) -> None:
    code = "def main(context):\n    del context['result']\n    context['error'] = 'odd'\n"
    context = runner_for(tmp_path, {"v.py": code}).analyze(real_image())
    assert context["result"] is False and context["error"] is True
    assert "result is missing" in context["errors"][-1]
