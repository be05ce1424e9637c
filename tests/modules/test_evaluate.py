"""Evaluation rules decide OK/NOK from rectangles, score and conditions."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspekt import FlowRunner, ProjectError, load_project
from tests.conftest import real_image, write_project

FIND = """
def main(context):
    context["score"] = 0.7
    context["threshold"] = 0.5
    for label, confidence, area in [("scratch", 0.9, 400), ("scratch", 0.4, 50), ("dent", 0.8, 30)]:
        context["detectedRectangles"].append({
            "x": 0, "y": 0, "width": 1, "height": 1, "area": area, "confidence": confidence,
            "classNames": [{"label": label, "confidence": confidence}],
        })
"""


def verdict(tmp_path: Path, evaluate: str, find: str = FIND) -> bool | None:
    flow = f"flow:\n  - {{type: code, name: find, file: find.py}}\n  - {evaluate}\n"
    with FlowRunner(load_project(write_project(tmp_path / "p", flow, {"find.py": find}))) as runner:
        return runner.analyze(real_image())["result"]


@pytest.mark.parametrize(
    ("rules", "ok"),
    [
        ("[{kind: rectangles, classes: [scratch]}]", False),
        ("[{kind: rectangles, classes: [crack]}]", True),
        ("[{kind: rectangles, classes: [scratch], min_confidence: 0.95}]", True),
        ("[{kind: rectangles, min_area: 300}]", False),
        ("[{kind: rectangles, min_area: 500}]", True),
        ("[{kind: rectangles, classes: [scratch], mode: every, min_confidence: 0.3}]", False),
        ("[{kind: rectangles, classes: [scratch], mode: every, min_confidence: 0.5}]", True),
        ("[{kind: rectangles, mode: count, min_count: 3}]", False),
        ("[{kind: rectangles, mode: count, min_count: 3, min_confidence: 0.5}]", True),
        ("[{kind: score}]", False),
        ("[{kind: score, at_least: 0.8}]", True),
        ("[{kind: condition, when: {key: detectedRectangles, at_least: 3}}]", False),
    ],
)
def test_single_rules(tmp_path: Path, rules: str, ok: bool) -> None:
    assert verdict(tmp_path, f"{{type: evaluate, rules: {rules}}}") is ok


def test_combine_and_or(tmp_path: Path) -> None:
    fire, quiet = "{kind: score}", "{kind: score, at_least: 0.9}"
    assert (
        verdict(tmp_path / "a", f"{{type: evaluate, combine: any, rules: [{fire}, {quiet}]}}")
        is False
    )
    assert (
        verdict(tmp_path / "b", f"{{type: evaluate, combine: all, rules: [{fire}, {quiet}]}}")
        is True
    )
    assert (
        verdict(tmp_path / "c", f"{{type: evaluate, combine: all, rules: [{fire}, {fire}]}}")
        is False
    )


def test_default_when_no_rule_fires(tmp_path: Path) -> None:
    quiet = "{kind: score, at_least: 0.9}"
    assert verdict(tmp_path / "a", f"{{type: evaluate, rules: [{quiet}]}}") is True
    assert verdict(tmp_path / "b", f"{{type: evaluate, default: nok, rules: [{quiet}]}}") is False


@pytest.mark.parametrize(
    ("rules", "ok"),
    [
        ("[{kind: score, at_least: 0.9}]", True),
        ("[{kind: score, at_least: 0.9}, {kind: condition, when: {key: result, equals: false}}]",
         False),
    ],
)
def test_the_verdict_replaces_an_earlier_nok_unless_a_rule_keeps_it(
    tmp_path: Path, rules: str, ok: bool
) -> None:
    flagged = "def main(context):\n    context['score'] = 0.7\n    context['result'] = False\n"
    assert verdict(tmp_path, f"{{type: evaluate, rules: {rules}}}", flagged) is ok


def test_a_score_rule_needs_a_threshold_to_fire(tmp_path: Path) -> None:
    unjudged = "def main(context):\n    context['score'] = 0.7\n"  # threshold stays 0.0
    assert verdict(tmp_path, "{type: evaluate, rules: [{kind: score}]}", unjudged) is True


@pytest.mark.parametrize(
    ("evaluate", "words"),
    [
        ("{type: evaluate, rules: []}", ["rules", "at least 1"]),
        ("{type: evaluate, rules: [{kind: volume}]}", ["rules.0", "kind"]),
        ("{type: evaluate, rules: [{kind: rectangles, mode: some}]}", ["mode"]),
        ("{type: evaluate, rules: [{kind: condition, when: {key: score}}]}", ["exactly one"]),
    ],
)
def test_bad_rules_name_the_field(tmp_path: Path, evaluate: str, words: list[str]) -> None:
    with pytest.raises(ProjectError) as caught:
        verdict(tmp_path, evaluate)
    for word in words:
        assert word in caught.value.message
