"""Gates and parallel branches: conditional sub-flows, joins, exit per branch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspekt import FlowRunner, ProjectError, load_project
from tests.conftest import real_image, write_project

FILES = {
    "label.py": "def main(context):\n    context['label'] = context['data']\n",
    "mark.py": (
        "def main(context):\n"
        "    context.setdefault('marks', []).append(context['image'].shape[1])\n"
    ),
    "ok.py": "def main(context):\n    context['result'] = True\n",
    "nok.py": "def main(context):\n    context['result'] = False\n",
    "stop.py": "def main(context):\n    context['exit'] = True\n",
    "seen.py": "def main(context):\n    context.setdefault('seen', []).append(context['result'])\n",
    "half.py": (
        "def main(context):\n"
        "    context['image'] = context['image'][:, : context['image'].shape[1] // 2]\n"
    ),
}


def run(tmp_path: Path, flow: str, data: str | None = None) -> dict:
    with FlowRunner(load_project(write_project(tmp_path / "p", flow, FILES))) as runner:
        return runner.analyze(real_image(), data)


GATE = """
flow:
  - {type: code, name: label, file: label.py}
  - type: gate
    when: [{key: label, equals: A}]
    flow:
      - {type: code, name: inner, file: mark.py}
      - {type: code, name: stop, file: stop.py}
      - {type: code, name: never, file: nok.py}
  - {type: code, name: after, file: ok.py}
"""


def test_gate_runs_its_sub_flow_only_when_the_condition_holds(tmp_path: Path) -> None:
    taken = run(tmp_path / "a", GATE, "A")
    assert taken["marks"] == [real_image().shape[1]]
    assert taken["result"] is True  # exit stopped the gate's flow, not the flow around it
    skipped = run(tmp_path / "b", GATE, "B")
    assert "marks" not in skipped and skipped["result"] is True


PARALLEL = """
flow:
  - type: parallel
    branches:
      - [{type: code, name: a1, file: half.py}, {type: code, name: a2, file: mark.py},
         {type: code, name: a3, file: {a}}]
      - [{type: code, name: b1, file: mark.py}, {type: code, name: b2, file: stop.py},
         {type: code, name: b3, file: nok.py}]
  - {type: code, name: after, file: mark.py}
"""


@pytest.mark.parametrize(("first", "expected"), [("ok.py", True), ("nok.py", False)])
def test_parallel_branches_join_by_and(tmp_path: Path, first: str, expected: bool) -> None:
    context = run(tmp_path, PARALLEL.replace("{a}", first))
    width = real_image().shape[1]
    # each branch starts from the fork's image; the flow goes on with it after the join
    assert context["marks"] == [width // 2, width, width]
    assert context["result"] is expected  # branch b exited before saying NOK


JOIN = """
flow:
  - {type: code, name: before, file: {before}}
  - type: parallel
    branches:
      - [{type: code, name: a, file: seen.py}, {type: code, name: a_ok, file: ok.py}]
      - [{type: code, name: b, file: seen.py}]
"""


@pytest.mark.parametrize(("before", "expected"), [("ok.py", True), ("nok.py", False)])
def test_each_branch_starts_ok_and_the_join_keeps_the_forks_verdict(
    tmp_path: Path, before: str, expected: bool
) -> None:
    context = run(tmp_path, JOIN.replace("{before}", before))
    assert context["seen"] == [True, True]  # a branch judges only its own findings
    assert context["result"] is expected


def test_a_failing_module_in_a_branch_stops_the_flow(tmp_path: Path) -> None:
    flow = (
        "flow:\n  - type: gate\n    when: [{key: result, equals: true}]\n    flow:\n"
        "      - {type: crop, x: 99999, y: 0, width: 5, height: 5}\n"
        "  - {type: code, name: after, file: ok.py}\n"
    )
    context = run(tmp_path, flow)
    assert context["error"] is True and context["result"] is False  # not inspected: not OK
    assert "outside" in context["errors"][0] and "crop" in context["errors"][0]


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ("{key: score, at_least: 0.5}", True), ("{key: score, greater_than: 0.5}", False),
        ("{key: score, less_than: 0.6}", True), ("{key: score, at_most: 0.4}", False),
        ("{key: globalData.mode, one_of: [fast, slow]}", True),
        ("{key: globalData.mode, not_equals: fast}", False),
        ("{key: missing.key, exists: false}", True),
        ("{key: detectedRectangles, at_least: 1}", False),
    ],
)
def test_conditions(tmp_path: Path, condition: str, holds: bool) -> None:
    files = {
        **FILES,
        "set.py": "def main(context):\n    context['score'] = 0.5\n"
        "    context['globalData']['mode'] = 'fast'\n",
    }
    flow = (
        "flow:\n  - {type: code, name: set, file: set.py}\n"
        f"  - type: gate\n    when: [{condition}]\n"
        "    flow: [{type: code, name: hit, file: nok.py}]\n"
    )
    with FlowRunner(load_project(write_project(tmp_path / "p", flow, files))) as runner:
        assert (runner.analyze(np.zeros((8, 8, 3), np.uint8))["result"] is False) is holds


def test_errors_in_sub_flows_name_their_place(tmp_path: Path) -> None:
    flow = "flow:\n  - type: parallel\n    branches:\n      - []\n      - [{type: crop, x: 1}]\n"
    with pytest.raises(ProjectError) as caught:
        load_project(write_project(tmp_path / "p", flow))
    assert "flow.yaml: flow[0].branches[1][0] (crop@1)" in caught.value.message
    assert "width" in caught.value.message
