"""Broken projects fail at load with one message naming the file and field."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from inspekt import FlowRunner, Inspection, Inspector, ProjectError, load_project
from inspekt.flow import project_warnings, validate_project
from tests.conftest import code_flow, inspekt_command, real_image, write_project


@pytest.mark.parametrize(
    ("flow", "words"),
    [
        ("flow: [\n  - type: code\n", ["flow.yaml", "not valid YAML", "line"]),
        (
            "flow:\n  - type: sparkle\n",
            ["flow.yaml", "flow[0].type", "unknown module type 'sparkle'", "code@1"],
        ),
        ("flow:\n  - name: x\n", ["flow.yaml", "flow[0]", "'type'"]),
        (
            "flow:\n  - type: code\n    name: c\n",
            ["flow.yaml", "flow[0]", "file", "Field required"],
        ),
        (
            "flow:\n  - type: code\n    file: c.py\n    colour: red\n",
            ["flow.yaml", "colour", "Extra inputs"],
        ),
        (
            "flow:\n  - type: code\n    file: ../outside.py\n",
            ["flow.yaml", "file", "inside the project"],
        ),
        ("modules: []\n", ["flow.yaml", "unknown top-level field", "modules", "annotation"]),
        ("annotation: {banner: maybe}\n", ["flow.yaml", "annotation.banner", "boolean"]),
        ("annotation: {frame: true}\n", ["flow.yaml", "annotation.frame", "Extra inputs"]),
        ("flow: 3\n", ["flow.yaml", "'flow' list"]),
    ],
)
def test_bad_flow_yaml(tmp_path: Path, flow: str, words: list[str]) -> None:
    with pytest.raises(ProjectError) as caught:
        load_project(write_project(tmp_path / "p", flow))
    for word in words:
        assert word in caught.value.message, caught.value.message


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="project folder not found"):
        load_project(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProjectError, match="pekat_package.json: not found"):
        load_project(tmp_path / "empty")
    project = write_project(tmp_path / "p")
    (project / "flow.yaml").unlink()
    with pytest.raises(ProjectError, match="flow.yaml: not found"):
        load_project(project)


def test_bad_package_json(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    (project / "pekat_package.json").write_text("{nope")
    with pytest.raises(ProjectError, match="pekat_package.json: not valid JSON"):
        load_project(project)
    (project / "pekat_package.json").write_text(json.dumps({"name": "x"}))
    with pytest.raises(ProjectError, match="pekat_package.json: version: Field required"):
        load_project(project)


def test_versioned_and_bare_type_ids_and_unique_names(tmp_path: Path) -> None:
    files = {"a.py": "def main(context):\n    pass\n"}
    flow = "flow:\n  - {type: code@1, name: a, file: a.py}\n  - {type: code, name: b, file: a.py}\n"
    assert [
        m.name for m in load_project(write_project(tmp_path / "ok", flow, files)).modules
    ] == ["a", "b"]
    twice = "flow:\n  - {type: code, name: a, file: a.py}\n  - {type: code, name: a, file: a.py}\n"
    with pytest.raises(ProjectError, match="two modules are named 'a'"):
        load_project(write_project(tmp_path / "dup", twice, files))


def test_empty_flow_passes_the_image_through(tmp_path: Path) -> None:
    image = real_image()
    with FlowRunner(load_project(write_project(tmp_path / "p"))) as runner:
        context = runner.analyze(image, "d")
        assert runner.analyze(image)["data"] == ""  # a request without data
    assert context["image"] is image and context["result"] is True and context["data"] == "d"
    assert context["processing"] is True and context["processingTime"] >= 0
    # seconds the image took, not a timestamp
    assert 0 <= context["completeTime"] < 10


def test_an_empty_flow_is_valid_but_warned_about(tmp_path: Path) -> None:
    empty = write_project(tmp_path / "empty")
    assert validate_project(empty) == []
    (warning,) = project_warnings(load_project(empty))
    assert "flow.yaml" in warning and "empty" in warning
    done = subprocess.run(
        inspekt_command("validate", str(empty)), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stderr == f"inspekt: warning: {warning}\n"
    crop = "flow:\n  - {type: crop, x: 0, y: 0, width: 1, height: 1}\n"
    assert project_warnings(load_project(write_project(tmp_path / "crop", crop))) == []


def test_a_numpy_verdict_becomes_a_bool(tmp_path: Path) -> None:
    files = {"np.py": "import numpy as np\n\ndef main(context):\n"
             "    context['result'] = np.float32(0.7) < 0.5\n"}
    project = load_project(write_project(tmp_path / "p", code_flow("np.py"), files))
    with FlowRunner(project) as runner:
        assert runner.analyze(real_image())["result"] is False


def test_inspection_subscribers_see_every_inspection_and_cannot_break_it(tmp_path: Path) -> None:
    seen: list[Inspection] = []
    with Inspector(load_project(write_project(tmp_path / "p"))) as inspector:
        inspector.subscribe(seen.append)
        inspector.subscribe(lambda inspection: 1 / 0)
        inspection = inspector.inspect(lambda: np.zeros((4, 4, 3), np.uint8))
    assert seen == [inspection] and inspection.context["error"] is False


def test_the_readme_example_project_is_valid() -> None:
    example = Path(__file__).parents[2] / "examples" / "line_project"
    project = load_project(example)
    assert [m.options.type for m in project.modules] == [
        "crop@1", "normalize@1", "mask@1", "anomaly@1", "evaluate@1", "image_saver@1", "webhook@1",
    ]
    assert validate_project(example) == [
        "flow.yaml: flow[3] (anomaly@1 'housing'): no trained model in "
        f"{example.resolve()}/models/housing: "
        f"run `inspekt train {example.resolve()}`"
    ]
