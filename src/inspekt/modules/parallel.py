"""Parallel: independent branches on the same image whose verdicts join by AND."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..types import Context
from .base import Module, ModuleEnv, ModuleOptions
from .gate import run_branch, sub_env
from .registry import module_type
from .tree import build_modules

__all__ = ["Parallel", "ParallelOptions"]


class ParallelOptions(ModuleOptions):
    type: Literal["parallel@1"]
    branches: list[list[dict[str, Any]]] = Field(
        min_length=2, description="Sub-flows that each start from the same image."
    )


@module_type
class Parallel(Module):
    """Independent branches on the same image whose verdicts join by AND.

    Each branch starts from the image (and mask) as they were at the fork, and
    the flow goes on with that image after the join. Rectangles, scores and
    other keys the branches write are kept. Each branch starts from ``result``
    true, like a whole flow, so it judges only its own findings; the joined
    ``result`` is the AND of the verdict at the fork and every branch's.
    """

    options_model = ParallelOptions
    options: ParallelOptions

    def __init__(self, options: ParallelOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self.branches = [
            build_modules(specs, sub_env(env, f"{env.location}.branches[{number}]", self.name))
            for number, specs in enumerate(options.branches)
        ]

    @property
    def sub_flows(self) -> list[list[Module]]:
        return self.branches

    def run(self, context: Context) -> None:
        fork = {key: context.get(key) for key in ("image", "mask")}
        verdicts = [context["result"]]
        for branch in self.branches:
            context.update(fork)
            context["result"] = True
            run_branch(branch, context)
            verdicts.append(context["result"])
        context.update(fork)
        context["result"] = all(bool(verdict) for verdict in verdicts)
