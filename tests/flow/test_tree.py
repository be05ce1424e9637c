"""The flow is one tree: names, lookups and timings cover nested modules too."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspekt import Inspector, ProjectError, load_project
from inspekt.flow import validate_project
from tests.conftest import real_image, write_project

NESTED = """\
flow:
  - {type: code, name: first, file: ok.py}
  - type: gate
    name: gate
    when: [{key: result, equals: true}]
    flow:
      - {type: code, file: ok.py}
      - type: parallel
        branches:
          - [{type: code, name: left, file: ok.py}]
          - [{type: code, name: right, file: ok.py}]
"""
OK = {"ok.py": "def main(context):\n    pass\n"}


def test_walk_reaches_nested_modules_with_unique_default_names(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path / "p", NESTED, OK))
    assert [m.name for m in project.walk()] == [
        "first", "gate", "gate.code0", "gate.parallel1", "left", "right",
    ]
    assert project.module("right").options.type == "code@1"


def test_module_ids_count_the_whole_tree_from_one_in_flow_order(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path / "p", NESTED, OK))
    assert [(m.name, m.module_id) for m in project.walk()] == [
        ("first", 1), ("gate", 2), ("gate.code0", 3), ("gate.parallel1", 4), ("left", 5),
        ("right", 6),
    ]


def test_names_are_unique_across_the_whole_tree(tmp_path: Path) -> None:
    clash = NESTED.replace("name: right", "name: first")
    with pytest.raises(ProjectError, match="two modules are named 'first'"):
        load_project(write_project(tmp_path / "p", clash, OK))
    assert "flow.yaml: two modules are named 'first'" in validate_project(tmp_path / "p")


def test_names_cannot_leave_the_models_folder(tmp_path: Path) -> None:
    bad = NESTED.replace("name: left", "name: ../left")
    with pytest.raises(ProjectError, match=r"branches\[0\]\[0\] \(code@1 '../left'\): name"):
        load_project(write_project(tmp_path / "p", bad, OK))


def test_each_module_that_ran_is_timed(tmp_path: Path) -> None:
    with Inspector(load_project(write_project(tmp_path / "p", NESTED, OK))) as inspector:
        inspection = inspector.inspect(real_image)
    assert inspection.modules_run == [
        "first", "gate.code0", "left", "right", "gate.parallel1", "gate"
    ]
    assert set(inspection.module_ms) == set(inspection.modules_run)
    assert all(ms >= 0 for ms in inspection.module_ms.values())
    assert inspection.module_ms["gate"] >= inspection.module_ms["left"]
    assert inspection.load_ms >= 0 and inspection.flow_ms >= inspection.module_ms["gate"]
    assert "trace" not in inspection.context["errors"] and inspection.context["error"] is False


def test_a_gate_that_does_not_open_skips_its_modules(tmp_path: Path) -> None:
    closed = NESTED.replace("equals: true", "equals: false")
    with Inspector(load_project(write_project(tmp_path / "p", closed, OK))) as inspector:
        assert inspector.inspect(real_image).modules_run == ["first", "gate"]
