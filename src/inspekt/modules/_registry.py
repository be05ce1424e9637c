"""Module types by id, so ``flow.yaml`` can name them.

Each module file registers its class with :func:`register`; ids are versioned
(``code@1``) so a breaking change to a module's options gets a new id while old
projects keep loading. A bare name (``code``) means the newest version.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ProjectError
from .base import Module

__all__ = ["known_types", "lookup", "register", "resolve"]

_TYPES: dict[str, type[Module]] = {}


def register(type_id: str) -> Callable[[type[Module]], type[Module]]:
    """Class decorator: make a module class available under ``type_id`` (``name@N``)."""
    name, _, version = type_id.partition("@")
    if not name or not version.isdigit():
        raise ValueError(f"module type id must look like 'name@1', got {type_id!r}")

    def decorate(cls: type[Module]) -> type[Module]:
        if type_id in _TYPES:
            raise ValueError(f"module type {type_id!r} is registered twice")
        _TYPES[type_id] = cls
        return cls

    return decorate


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
