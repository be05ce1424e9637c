"""Evaluate: decide OK/NOK from what earlier modules found.

Each rule *fires* on evidence of a defect; ``combine: any`` makes the image NOK
when any rule fires (OR), ``combine: all`` only when every rule fires (AND).
When the rules fire, ``result`` becomes false; when they do not, ``default``
decides: ``ok`` (the default) sets it true, ``nok`` sets it false.

The verdict replaces the ``result`` earlier modules left (it starts true and
modules such as the anomaly detector set it false): that is what lets rules
accept what a module flagged, e.g. an anomaly region below ``min_area``. To keep
an earlier NOK, add the rule ``{kind: condition, when: {key: result, equals:
false}}`` (with ``combine: any``).

Rule kinds:

- ``rectangles``: detected rectangles of some classes (all classes when empty)
  with at least ``min_confidence`` and ``min_area``; fires when ``any`` one
  qualifies, when ``every`` rectangle of those classes qualifies (and there is
  one), or when at least ``min_count`` qualify (``count``).
- ``score``: fires when ``context['score']`` reaches ``at_least`` (or the
  context's own ``threshold`` when ``at_least`` is not given; never when no
  module set a threshold, which leaves it 0).
- ``condition``: fires when a context condition holds (see gates).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..conditions import Condition
from ..types import Context
from .base import Module, ModuleOptions
from .registry import module_type

__all__ = ["Evaluate", "EvaluateOptions"]


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RectanglesRule(_Rule):
    kind: Literal["rectangles"] = "rectangles"
    classes: list[str] = Field(default_factory=list, description="Class labels; empty means all.")
    min_confidence: float = Field(0.0, ge=0, le=1)
    min_area: float = Field(0.0, ge=0, description="Pixels.")
    mode: Literal["any", "every", "count"] = "any"
    min_count: int = Field(1, ge=1, description="count: how many must qualify.")

    def fires(self, context: Context) -> bool:
        candidates = [r for r in context.get("detectedRectangles") or [] if self._of_class(r)]
        qualifying = [r for r in candidates if self._qualifies(r)]
        if self.mode == "any":
            return bool(qualifying)
        if self.mode == "every":
            return bool(candidates) and len(qualifying) == len(candidates)
        return len(qualifying) >= self.min_count

    def _of_class(self, rect: dict[str, Any]) -> bool:
        if not self.classes:
            return True
        labels = {c.get("label") for c in rect.get("classNames") or [] if isinstance(c, dict)}
        return bool(labels & set(self.classes))

    def _qualifies(self, rect: dict[str, Any]) -> bool:
        area = rect.get("area")
        if area is None:
            area = float(rect.get("width", 0)) * float(rect.get("height", 0))
        confidence = float(rect.get("confidence") or 0)
        return confidence >= self.min_confidence and float(area) >= self.min_area


class ScoreRule(_Rule):
    kind: Literal["score"] = "score"
    at_least: float | None = Field(
        None, description="Fires when score >= this (default: context threshold)."
    )

    def fires(self, context: Context) -> bool:
        score, limit = context.get("score"), self.at_least
        if limit is None:
            # The context's threshold is 0.0 until a module sets one; a rule against
            # that would fire on every image.
            limit = context.get("threshold") or None
        return score is not None and limit is not None and float(score) >= float(limit)


class ConditionRule(_Rule):
    kind: Literal["condition"] = "condition"
    when: Condition

    def fires(self, context: Context) -> bool:
        return self.when.holds(context)


Rule = Annotated[RectanglesRule | ScoreRule | ConditionRule, Field(discriminator="kind")]


class EvaluateOptions(ModuleOptions):
    type: Literal["evaluate@1"]
    rules: list[Rule] = Field(min_length=1, description="Rules that fire on defects.")
    combine: Literal["any", "all"] = Field("any", description="NOK when any (OR) / all (AND) fire.")
    default: Literal["ok", "nok"] = Field("ok", description="Verdict when no rule fires.")


@module_type
class Evaluate(Module):
    options_model = EvaluateOptions
    options: EvaluateOptions

    def run(self, context: Context) -> None:
        fired = [rule.fires(context) for rule in self.options.rules]
        nok = any(fired) if self.options.combine == "any" else all(fired)
        context["result"] = False if nok else self.options.default == "ok"
