"""Flows as module trees: build them from ``flow.yaml`` specs, walk, open, run and close them.

A flow is a list of modules; gates and parallel branches hold sub-flows of
their own, so a project is a tree. Everything that must see every module —
unique names, training, opening and closing — walks the whole tree.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from ..context import record_error, trace_of
from ..errors import ProjectError
from ..types import Context
from .base import ImagePreparation, Module, ModuleEnv
from .registry import lookup, resolve

__all__ = [
    "build_modules",
    "close_modules",
    "describe_validation",
    "open_modules",
    "preparation_before",
    "run_modules",
    "walk",
]

log = logging.getLogger(__name__)


def build_modules(specs: list[Any], env: ModuleEnv) -> list[Module]:
    """Validate each module spec against its type's options and build it (nothing starts).

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
    named = f" '{spec['name']}'" if spec.get("name") else ""
    described = f"{label} ({type_id}{named})"
    try:
        options = cls.options_model.model_validate({**spec, "type": type_id})
    except ValidationError as exc:
        raise ProjectError(f"{described}: {describe_validation(exc)}") from exc
    try:
        return cls(options, replace(env, location=label), index)
    except ProjectError as exc:
        if exc.message.startswith(env.location):  # a nested module already named itself
            raise
        raise ProjectError(f"{described}: {exc.message}") from exc


def describe_validation(exc: ValidationError) -> str:
    """A pydantic error as ``field.path: message; ...`` on one line."""
    parts = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "(root)"
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)


def preparation_before(flow: Sequence[Module], target: Module) -> ImagePreparation | None:
    """What prepares the image before ``target`` on its way through ``flow``.

    The image-preparing modules before it at every level it is nested in, in
    order (None when ``target`` is not in the flow). Preparing modules inside a
    gate or branch that comes earlier are not replayed: whether they run depends
    on each image.
    """
    for index, module in enumerate(flow):
        before = flow[:index]
        if module is target:
            return _preparation(before)
        for sub_flow in module.sub_flows:
            inner = preparation_before(sub_flow, target)
            if inner is not None:
                outer = _preparation(before)
                return ImagePreparation(
                    outer.modules + inner.modules, outer.skipped + inner.skipped
                )
    return None


def _preparation(modules: Sequence[Module]) -> ImagePreparation:
    return ImagePreparation(
        [module for module in modules if module.prepares_image],
        [module.name for module in walk(modules) if module.runs_user_code],
    )


def walk(modules: Sequence[Module]) -> Iterator[Module]:
    """Every module of the tree, depth first, in flow order."""
    for module in modules:
        yield module
        yield from walk(module.children)


def open_modules(modules: Sequence[Module]) -> None:
    """Open every module of the tree; if one fails, close those already opened and raise."""
    opened: list[Module] = []
    try:
        for module in walk(modules):
            try:
                module.open()
            except ProjectError as exc:
                raise ProjectError(f"{module.place}: {exc.message}") from exc
            opened.append(module)
    except BaseException:
        _close_each(opened)
        raise


def close_modules(modules: Sequence[Module]) -> None:
    """Close every module of the tree, logging (not raising) failures so all get closed."""
    _close_each(list(walk(modules)))


def _close_each(modules: list[Module]) -> None:
    for module in reversed(modules):  # later modules may still use earlier ones' work
        try:
            module.close()
        except Exception:
            log.exception("closing module %s failed", module.name)


def run_modules(modules: Sequence[Module], context: Context) -> None:
    """Run modules in order until one sets ``context['exit']``; time each one.

    A module that fails (not user code, which reports its own errors) marks the
    context as errored and stops the flow: later modules would see a half-done
    context. The image was not inspected, so its ``result`` is false: never a
    silent OK.
    """
    trace = trace_of(context)
    for module in modules:
        if context.get("exit") or context["error"]:
            return
        started = time.perf_counter()
        try:
            module.run(context)
        except Exception as exc:
            log.exception("module %s failed", module.name)
            record_error(context, f"module '{module.name}' failed: {type(exc).__name__}: {exc}")
            context["result"] = False
        finally:
            trace.record(module.name, (time.perf_counter() - started) * 1000)
