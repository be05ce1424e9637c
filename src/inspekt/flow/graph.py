"""Flow shapes beyond a straight line: conditional gates and parallel branches.

Both hold sub-flows written like the top-level one. ``context['exit']`` set in a
sub-flow stops only that sub-flow.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from ..modules import Module, ModuleEnv, ModuleOptions, register
from ..types import Context
from .conditions import Condition, all_hold
from .project import build_modules
from .runner import close_modules, run_modules

__all__ = ["Gate", "GateOptions", "Parallel", "ParallelOptions"]


def run_branch(modules: list[Module], context: Context) -> None:
    """Run a sub-flow; its ``exit`` does not stop the flow around it."""
    run_modules(modules, context)
    context["exit"] = False


class GateOptions(ModuleOptions):
    type: Literal["gate@1"] = "gate@1"
    when: list[Condition] = Field(min_length=1, description="Run the sub-flow only when all hold.")
    flow: list[dict[str, Any]] = Field(description="The sub-flow: modules as in the top-level flow.")


@register("gate@1")
class Gate(Module):
    """Run a sub-flow only when conditions on the context hold (e.g. a classifier's label)."""

    options_model = GateOptions
    options: GateOptions

    def __init__(self, options: GateOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self.children = build_modules(options.flow, replace(env, location=f"{env.location}.flow"))

    def run(self, context: Context) -> None:
        if all_hold(self.options.when, context):
            run_branch(self.children, context)

    def close(self) -> None:
        close_modules(self.children)


class ParallelOptions(ModuleOptions):
    type: Literal["parallel@1"] = "parallel@1"
    branches: list[list[dict[str, Any]]] = Field(
        min_length=2, description="Sub-flows that each start from the same image."
    )


@register("parallel@1")
class Parallel(Module):
    """Independent branches on the same image whose verdicts join by AND.

    Each branch starts from the image (and mask) as they were at the fork, and
    the flow goes on with that image after the join. Rectangles, scores and
    other keys the branches write are kept. The joined ``result`` is False when
    any branch (or the flow before the fork) said False, None when none decided,
    True otherwise.
    """

    options_model = ParallelOptions
    options: ParallelOptions

    def __init__(self, options: ParallelOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self.branches = [
            build_modules(specs, replace(env, location=f"{env.location}.branches[{number}]"))
            for number, specs in enumerate(options.branches)
        ]

    def run(self, context: Context) -> None:
        fork = {key: context.get(key) for key in ("image", "mask")}
        verdicts = [context["result"]]
        for branch in self.branches:
            context.update(fork)
            context["result"] = None
            run_branch(branch, context)
            verdicts.append(context["result"])
        context.update(fork)
        decided = [verdict for verdict in verdicts if verdict is not None]
        context["result"] = all(decided) if decided else None

    def close(self) -> None:
        for branch in self.branches:
            close_modules(branch)
