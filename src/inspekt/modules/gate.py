"""Gate: run a sub-flow only when conditions on the context hold (e.g. a classifier's label).

The sub-flow is written like the top-level one. ``context['exit']`` set in it
stops only the sub-flow.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from ..conditions import Condition, all_hold
from ..types import Context
from .base import Module, ModuleEnv, ModuleOptions
from .registry import module_type
from .tree import build_modules, run_modules

__all__ = ["Gate", "GateOptions", "run_branch", "sub_env"]


def sub_env(env: ModuleEnv, location: str, owner: str) -> ModuleEnv:
    """The environment of a sub-flow: its place in flow.yaml and a prefix for default names."""
    return replace(env, location=location, name_prefix=f"{owner}.")


def run_branch(modules: list[Module], context: Context) -> None:
    """Run a sub-flow; its ``exit`` does not stop the flow around it."""
    run_modules(modules, context)
    context["exit"] = False


class GateOptions(ModuleOptions):
    type: Literal["gate@1"]
    when: list[Condition] = Field(min_length=1, description="Run the sub-flow only when all hold.")
    flow: list[dict[str, Any]] = Field(
        description="The sub-flow: modules as in the top-level flow."
    )


@module_type
class Gate(Module):
    """Run a sub-flow only when conditions on the context hold (e.g. a classifier's label)."""

    options_model = GateOptions
    options: GateOptions

    def __init__(self, options: GateOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self._children = build_modules(
            options.flow, sub_env(env, f"{env.location}.flow", self.name)
        )

    @property
    def sub_flows(self) -> list[list[Module]]:
        return [self._children]

    def run(self, context: Context) -> None:
        if all_hold(self.options.when, context):
            run_branch(self._children, context)
