"""Conditions on the context, for gates and evaluation rules.

A condition names a context key (dotted for nested dicts: ``globalData.mode``)
and one comparison. Lists compare by their length, so
``{key: detectedRectangles, at_least: 1}`` means "something was detected".
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .types import Context

__all__ = ["Condition", "all_hold", "lookup_key"]

_COMPARISONS = (
    "equals", "not_equals", "one_of", "at_least", "at_most", "greater_than", "less_than", "exists"
)
_MISSING = object()


class Condition(BaseModel):
    """One test of a context value; exactly one comparison must be given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, description="Context key, dotted for nested dicts.")
    equals: Any = Field(None, description="Value must equal this.")
    not_equals: Any = Field(None, description="Value must differ from this.")
    one_of: list[Any] | None = Field(None, description="Value must be one of these.")
    at_least: float | None = Field(None, description="Number (or list length) >= this.")
    at_most: float | None = Field(None, description="Number (or list length) <= this.")
    greater_than: float | None = Field(None, description="Number (or list length) > this.")
    less_than: float | None = Field(None, description="Number (or list length) < this.")
    exists: bool | None = Field(
        None, description="Key present and not null (true) or absent/null (false)."
    )

    @model_validator(mode="after")
    def _one_comparison(self) -> Condition:
        given = [name for name in _COMPARISONS if name in self.model_fields_set]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(_COMPARISONS)} (got {len(given)})")
        return self

    def holds(self, context: Context) -> bool:
        value = lookup_key(context, self.key)
        comparison = next(name for name in _COMPARISONS if name in self.model_fields_set)
        if comparison == "exists":
            return (value is not _MISSING and value is not None) == self.exists
        if value is _MISSING:
            return False
        if comparison == "equals":
            return bool(value == self.equals)
        if comparison == "not_equals":
            return bool(value != self.not_equals)
        if comparison == "one_of":
            return value in (self.one_of or [])
        number = _as_number(value)
        if number is None:
            return False
        limit = float(getattr(self, comparison))
        return {
            "at_least": number >= limit,
            "at_most": number <= limit,
            "greater_than": number > limit,
            "less_than": number < limit,
        }[comparison]


def lookup_key(context: Context, key: str) -> Any:
    """The value at a dotted key, or a sentinel when any part is missing."""
    value: Any = context
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (list, tuple)):
        return float(len(value))
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def all_hold(conditions: list[Condition], context: Context) -> bool:
    """True when every condition holds (an empty list holds)."""
    return all(condition.holds(context) for condition in conditions)
