"""Load a project directory: ``pekat_package.json`` + ``flow.yaml`` -> modules.

Every problem is reported as a :class:`~inspekt.errors.ProjectError` that names
the file and the field, e.g. ``flow.yaml: flow[0] (code 'check').file: Field
required`` — never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import ProjectError
from ..modules import Module, ModuleEnv, lookup
from ..modules._registry import resolve

__all__ = [
    "FLOW_FILE",
    "PACKAGE_FILE",
    "PackageInfo",
    "Project",
    "build_modules",
    "load_project",
    "validate_project",
]

PACKAGE_FILE = "pekat_package.json"
FLOW_FILE = "flow.yaml"


class PackageInfo(BaseModel):
    """``pekat_package.json``: PEKAT recognises a project by this file."""

    model_config = ConfigDict(extra="allow")

    name: str
    version: str


@dataclass
class Project:
    """A loaded project: its folder, package info and the built modules in order."""

    path: Path
    package: PackageInfo
    modules: list[Module] = field(default_factory=list)


def load_project(path: Path, *, allow_code: bool = True, load_models: bool = True) -> Project:
    """Read, validate and build a project; raise ProjectError naming file and field.

    ``load_models=False`` builds trainable modules without reading their models,
    for training them.
    """
    path = Path(path)
    if not path.is_dir():
        raise ProjectError(f"{path}: project folder not found")
    package = _load_package(path / PACKAGE_FILE)
    specs = _load_flow_specs(path / FLOW_FILE)
    env = ModuleEnv(project_dir=path.resolve(), allow_code=allow_code, load_models=load_models)
    modules = build_modules(specs, env)
    _check_unique_names(modules)
    return Project(path=path, package=package, modules=modules)


def validate_project(path: Path) -> list[str]:
    """Every problem of a project (files, modules, options, models), not just the first."""
    path = Path(path)
    problems: list[str] = []
    if not path.is_dir():
        return [f"{path}: project folder not found"]
    try:
        _load_package(path / PACKAGE_FILE)
    except ProjectError as exc:
        problems.append(exc.message)
    try:
        specs = _load_flow_specs(path / FLOW_FILE)
    except ProjectError as exc:
        return [*problems, exc.message]
    env = ModuleEnv(project_dir=path.resolve(), problems=problems)
    modules = build_modules(specs, env)
    try:
        _check_unique_names(modules)
    except ProjectError as exc:
        problems.append(exc.message)
    return problems


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
        raise ProjectError(f"{file}: {_describe(exc)}") from exc


def _load_flow_specs(file: Path) -> list[Any]:
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProjectError(f"{file}: not found (a project folder needs {FLOW_FILE})") from exc
    except yaml.YAMLError as exc:
        raise ProjectError(f"{file}: not valid YAML: {_yaml_problem(exc)}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{file}: cannot read: {exc}") from exc
    if raw is None:
        return []
    if not isinstance(raw, dict) or not isinstance(raw.get("flow", []), list):
        raise ProjectError(f"{file}: expected a mapping with a 'flow' list of modules")
    unknown = sorted(set(raw) - {"flow"})
    if unknown:
        raise ProjectError(f"{file}: unknown top-level field(s): {', '.join(unknown)}")
    return list(raw.get("flow") or [])


def build_modules(specs: list[Any], env: ModuleEnv) -> list[Module]:
    """Validate each module spec against its type's options and build it.

    Problems raise a ProjectError naming ``env.location[index]``, or are appended
    to ``env.problems`` when the caller collects them (then the module is skipped).
    """
    modules = []
    for index, spec in enumerate(specs):
        try:
            modules.append(_build_module(spec, env, f"{env.location}[{index}]", index))
        except ProjectError as exc:
            if env.problems is None:
                raise
            env.problems.append(exc.message)
    return modules


def _build_module(spec: Any, env: ModuleEnv, label: str, index: int) -> Module:
    if not isinstance(spec, dict) or "type" not in spec:
        raise ProjectError(f"{label}: each module needs a 'type' field")
    try:
        type_id = resolve(str(spec["type"]))
    except ProjectError as exc:
        raise ProjectError(f"{label}.type: {exc.message}") from exc
    cls = lookup(type_id)
    described = f"{label} ({type_id} '{spec['name']}')" if spec.get("name") else f"{label} ({type_id})"
    try:
        options = cls.options_model.model_validate({**spec, "type": type_id})
    except ValidationError as exc:
        raise ProjectError(f"{described}: {_describe(exc)}") from exc
    try:
        return cls(options, replace(env, location=label), index)
    except ProjectError as exc:
        if exc.message.startswith(env.location):  # a nested module already named itself
            raise
        raise ProjectError(f"{described}: {exc.message}") from exc


def _check_unique_names(modules: list[Module]) -> None:
    seen: set[str] = set()
    for module in modules:
        if module.name in seen:
            raise ProjectError(f"{FLOW_FILE}: two modules are named {module.name!r}")
        seen.add(module.name)


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "(root)"
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}: {problem}" if mark else problem
