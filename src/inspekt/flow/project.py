"""Load a project directory: ``pekat_package.json`` + ``flow.yaml`` -> a tree of built modules.

Every problem is reported as a :class:`~inspekt.errors.ProjectError` that names
the file and the field, e.g. ``flow.yaml: flow[0] (code 'check').file: Field
required`` — never a traceback. Loading builds modules without starting them;
:class:`~inspekt.flow.runner.FlowRunner` opens them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ProjectError
from ..imaging.render import Annotation
from ..modules import EvaluableModule, Module, ModuleEnv, TrainableModule, build_modules, walk
from ..modules.tree import describe_validation, preparation_before

__all__ = [
    "FLOW_FILE",
    "PACKAGE_FILE",
    "PackageInfo",
    "Project",
    "load_project",
    "project_warnings",
    "validate_project",
]

PACKAGE_FILE = "pekat_package.json"
FLOW_FILE = "flow.yaml"

_Kind = TypeVar("_Kind", bound=Module)


class PackageInfo(BaseModel):
    """``pekat_package.json``: PEKAT recognises a project by this file."""

    model_config = ConfigDict(extra="allow")

    name: str
    version: str


@dataclass
class Project:
    """A loaded project: its folder, package info and the built (not opened) flow."""

    path: Path
    package: PackageInfo
    #: The top-level flow; gates and parallel branches hold the rest of the tree.
    modules: list[Module] = field(default_factory=list)
    #: How annotated images are drawn (``annotation:`` in flow.yaml).
    annotation: Annotation = field(default_factory=Annotation)

    def __post_init__(self) -> None:
        # Ids are positions in the whole tree, so a module keeps its id wherever it
        # is nested and for as long as flow.yaml is unchanged.
        for module_id, module in enumerate(self.walk(), 1):
            module.module_id = module_id
            if isinstance(module, EvaluableModule):
                preparation = preparation_before(self.modules, module)
                assert preparation is not None  # walked from these very modules
                module.preparation = preparation

    def walk(self) -> Iterator[Module]:
        """Every module, nested ones included, in flow order."""
        return walk(self.modules)

    def module(self, name: str) -> Module:
        """The module with this name anywhere in the flow."""
        for module in self.walk():
            if module.name == name:
                return module
        raise ProjectError(f"{self.path}: no module named {name!r}")

    def trainable(self, only: str | None = None) -> list[TrainableModule]:
        """Trainable modules anywhere in the flow (or just ``only``).

        Refuses when there are none.
        """
        found = [m for m in self.walk() if isinstance(m, TrainableModule)]
        return self._picked(found, "trainable module", only)

    def evaluable(self, only: str | None = None) -> list[EvaluableModule]:
        """Modules ``inspekt eval`` can measure (trained ones, readers), or just ``only``.

        Refuses when there are none.
        """
        found = [m for m in self.walk() if isinstance(m, EvaluableModule)]
        return self._picked(found, "module to evaluate", only)

    def _picked(self, modules: list[_Kind], noun: str, only: str | None) -> list[_Kind]:
        if only is not None:
            modules = [m for m in modules if m.name == only]
            if not modules:
                raise ProjectError(f"{self.path}: no {noun} named {only!r}")
        if not modules:
            raise ProjectError(f"{self.path}: the flow has no {noun}")
        return modules


def load_project(path: Path, *, allow_code: bool = True) -> Project:
    """Read, validate and build a project; raise ProjectError naming file and field."""
    path = Path(path)
    if not path.is_dir():
        raise ProjectError(f"{path}: project folder not found")
    package = _load_package(path / PACKAGE_FILE)
    flow_file = _load_flow_file(path / FLOW_FILE)
    env = ModuleEnv(project_dir=path.resolve(), allow_code=allow_code)
    modules = build_modules(flow_file.flow, env)
    project = Project(path, package, modules, flow_file.annotation)
    _check_unique_names(project)
    return project


def validate_project(path: Path) -> list[str]:
    """Every problem of a project (files, modules, options, models), not just the first.

    Nothing is opened: no user code runs, no model is loaded, nothing starts.
    """
    path = Path(path)
    problems: list[str] = []
    if not path.is_dir():
        return [f"{path}: project folder not found"]
    try:
        package = _load_package(path / PACKAGE_FILE)
    except ProjectError as exc:
        problems.append(exc.message)
        package = PackageInfo(name="", version="")
    try:
        flow_file = _load_flow_file(path / FLOW_FILE)
    except ProjectError as exc:
        return [*problems, exc.message]
    env = ModuleEnv(project_dir=path.resolve(), problems=problems)
    modules = build_modules(flow_file.flow, env)
    project = Project(path, package, modules, flow_file.annotation)
    try:
        _check_unique_names(project)
    except ProjectError as exc:
        problems.append(exc.message)
    for module in project.walk():
        problems += [f"{module.place}: {problem}" for problem in module.problems()]
    return problems


def project_warnings(project: Project) -> list[str]:
    """What is valid but probably not meant; the server and ``inspekt validate`` say it.

    An empty flow judges nothing: every image is answered OK (``result`` starts
    true) without being inspected. A module's own warnings (a model that no
    longer matches its options or training images) are listed with its place.
    """
    if not project.modules:
        return [
            f"{project.path / FLOW_FILE}: the flow is empty: every image will be answered OK "
            "without being inspected"
        ]
    return [
        f"{module.place}: {warning}"
        for module in project.walk()
        for warning in module.warnings()
    ]


def _load_package(file: Path) -> PackageInfo:
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProjectError(f"{file}: not found (a project folder needs {PACKAGE_FILE})") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProjectError(f"{file}: not valid JSON: {exc}") from exc
    try:
        return PackageInfo.model_validate(raw)
    except ValidationError as exc:
        raise ProjectError(f"{file}: {describe_validation(exc)}") from exc


class FlowFile(BaseModel):
    """``flow.yaml``: the modules in order, and how the project's images are annotated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    flow: list[Any] = Field(default_factory=list, description="The modules, run in order.")
    annotation: Annotation = Field(
        default_factory=Annotation, description="How annotated images are drawn."
    )


def _load_flow_file(file: Path) -> FlowFile:
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProjectError(f"{file}: not found (a project folder needs {FLOW_FILE})") from exc
    except yaml.YAMLError as exc:
        raise ProjectError(f"{file}: not valid YAML: {_yaml_problem(exc)}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{file}: cannot read: {exc}") from exc
    if raw is None:
        return FlowFile()
    if not isinstance(raw, dict) or not isinstance(raw.get("flow", []), list):
        raise ProjectError(f"{file}: expected a mapping with a 'flow' list of modules")
    unknown = sorted(set(raw) - set(FlowFile.model_fields))
    if unknown:
        raise ProjectError(
            f"{file}: unknown top-level field(s): {', '.join(unknown)} "
            f"(known: {', '.join(FlowFile.model_fields)})"
        )
    try:
        return FlowFile.model_validate({**raw, "flow": raw.get("flow") or []})
    except ValidationError as exc:
        raise ProjectError(f"{file}: {describe_validation(exc)}") from exc


def _check_unique_names(project: Project) -> None:
    """Names identify modules in errors, timings and ``models/<name>``: unique across the tree."""
    seen: set[str] = set()
    for module in project.walk():
        if module.name in seen:
            raise ProjectError(f"{FLOW_FILE}: two modules are named {module.name!r}")
        seen.add(module.name)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}: {problem}" if mark else problem
