"""Module options as JSON Schema for people and tools: ``inspekt modules [--json]``.

pydantic puts nested option models (the anomaly module's ``model``) under
``$defs`` and points at them; here every reference is inlined, so each option
reads as one self-contained schema.
"""

from __future__ import annotations

from typing import Any

from .base import ModuleOptions

__all__ = ["describe_options", "options_schema"]

#: Options every module has, not worth repeating per type.
_COMMON = ("type", "name")


def options_schema(options_model: type[ModuleOptions]) -> dict[str, Any]:
    """The options' JSON Schema with every ``$ref`` inlined and ``$defs`` dropped."""
    schema = options_model.model_json_schema()
    definitions = schema.pop("$defs", {})
    inlined: dict[str, Any] = _inline(schema, definitions)
    return inlined


def describe_options(options_model: type[ModuleOptions]) -> tuple[dict[str, Any], list[str]]:
    """(option -> schema, required options) without the options every module has."""
    schema = options_schema(options_model)
    options = {k: v for k, v in schema.get("properties", {}).items() if k not in _COMMON}
    required = [name for name in schema.get("required", []) if name not in _COMMON]
    return options, required


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return _inline({**target, **rest}, definitions)
    return {key: _inline(value, definitions) for key, value in node.items()}
