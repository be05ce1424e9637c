"""Modules start only when opened: building or validating a project leaves nothing running."""

from __future__ import annotations

import threading
from pathlib import Path

import psutil
import pytest

from inspekt import FlowRunner, Inspector, ProjectError, load_project
from inspekt.flow import validate_project
from tests.conftest import free_port, inspect, real_image, write_project

BUSY_FLOW = """\
flow:
  - {{type: code, name: check, file: check.py}}
  - type: gate
    name: gated
    when: [{{key: result, equals: true}}]
    flow:
      - {{type: image_saver, name: saver, when: all}}
  - {{type: webhook, name: hook, url: 'http://127.0.0.1:{port}/'}}
"""
CODE = {"check.py": "def main(context):\n    context['checked'] = True\n"}


def running() -> tuple[set[str], set[int]]:
    """Names of live threads and pids of live child processes.

    Python's shared-memory resource tracker (one per interpreter, started by the
    first shared block) is not a module's: it is left out.
    """
    threads = {t.name for t in threading.enumerate()}
    children = {
        child.pid for child in psutil.Process().children(recursive=True)
        if "resource_tracker" not in " ".join(child.cmdline())
    }
    return threads, children


def busy_project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "busy", BUSY_FLOW.format(port=free_port()), CODE)


def test_validate_and_load_start_nothing(tmp_path: Path) -> None:
    project = busy_project(tmp_path)
    before = running()
    assert validate_project(project) == []
    load_project(project)
    assert running() == before


def test_a_closed_runner_leaves_no_thread_or_child(tmp_path: Path) -> None:
    project = busy_project(tmp_path)
    before_threads, before_children = running()
    inspector = Inspector(load_project(project))
    threads, children = running()
    assert len(threads - before_threads) == 2  # the saver's writer and the webhook's sender
    assert len(children - before_children) == 1  # the Code module's child process
    assert inspect(inspector, real_image())["checked"] is True
    inspector.close()
    assert running() == (before_threads, before_children)


def test_a_module_that_cannot_open_closes_those_already_opened(tmp_path: Path) -> None:
    flow = "flow:\n  - {type: code, name: check, file: check.py}\n  - {type: anomaly, name: nut}\n"
    project = write_project(tmp_path / "p", flow, CODE)
    before = running()
    with pytest.raises(ProjectError, match=r"flow\[1\] \(anomaly@1 'nut'\): no trained model"):
        FlowRunner(load_project(project))
    assert running() == before


def test_closing_twice_and_closing_unopened_modules_is_harmless(tmp_path: Path) -> None:
    project = load_project(busy_project(tmp_path))
    for module in project.walk():
        module.close()
    runner = FlowRunner(project)
    runner.close()
    runner.close()
