"""Module types by id, so ``flow.yaml`` can name them.

A module class is registered with :func:`module_type`, which reads the id from
its options' ``type: Literal["name@N"]`` — the one place the id is written.
Ids are versioned (``code@1``) so a breaking change to a module's options gets
a new id while old projects keep loading. A bare name (``code``) means the
newest version.
"""

from __future__ import annotations

import typing

from ..errors import ModuleTypeError, ProjectError
from .base import Module

__all__ = ["known_types", "lookup", "module_type", "resolve"]

ModuleClass = typing.TypeVar("ModuleClass", bound=type[Module])

_TYPES: dict[str, type[Module]] = {}


def _declared_id(cls: type[Module]) -> str:
    annotation = cls.options_model.model_fields["type"].annotation
    ids = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
    if len(ids) != 1 or not isinstance(ids[0], str):
        raise ModuleTypeError(f"{cls.__name__}: options need type: Literal['name@N']")
    type_id = ids[0]
    name, _, version = type_id.partition("@")
    if not name or not version.isdigit():
        raise ModuleTypeError(f"{cls.__name__}: type id must look like 'name@1', got {type_id!r}")
    return type_id


def module_type(cls: ModuleClass) -> ModuleClass:
    """Class decorator: make a module class available under its options' type id."""
    type_id = _declared_id(cls)
    if type_id in _TYPES:
        raise ModuleTypeError(f"module type {type_id!r} is registered twice")
    cls.type_id = type_id
    _TYPES[type_id] = cls
    return cls


def resolve(type_name: str) -> str:
    """Map ``name`` to its newest ``name@N``; a full id maps to itself."""
    if type_name in _TYPES:
        return type_name
    versions = [tid for tid in _TYPES if tid.partition("@")[0] == type_name]
    if not versions:
        raise ProjectError(f"unknown module type {type_name!r} (known: {', '.join(known_types())})")
    return max(versions, key=lambda tid: int(tid.partition("@")[2]))


def lookup(type_name: str) -> type[Module]:
    """The module class for a type id or bare name."""
    return _TYPES[resolve(type_name)]


def known_types() -> list[str]:
    """Every registered type id, sorted."""
    return sorted(_TYPES)
