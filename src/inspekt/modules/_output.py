"""What every output module shares: send each finished inspection in the background, report trouble.

An output sends the context as it is when the whole flow has finished (final
verdict, processing time), for every image that reached the output's place in
the flow: a webhook inside a gate only hears about images that passed the gate.
"""

from __future__ import annotations

from pydantic import Field

from ..context import context_to_json
from ..results import Inspection
from ..types import Context
from ._background import BackgroundWorker
from .base import Module, ModuleEnv, ModuleOptions

__all__ = ["OutputModule", "OutputOptions"]


class OutputOptions(ModuleOptions):
    backlog: int = Field(
        1000, ge=1, le=1_000_000, description="Messages kept while the target is down."
    )


class OutputModule(Module):
    """Sends the public context as JSON; delivery runs on its own thread, with retries."""

    options: OutputOptions

    def __init__(self, options: OutputOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self.worker: BackgroundWorker[bytes] = BackgroundWorker(
            f"{options.type}:{self.name}", self.deliver, capacity=options.backlog, retry=True
        )
        self._reported_drops = 0

    def open(self) -> None:
        self.worker.start()

    def deliver(self, payload: bytes) -> None:
        """Send one message; raise on failure (it will be retried)."""
        raise NotImplementedError

    def payload(self, context: Context) -> bytes:
        return context_to_json(context)

    def run(self, context: Context) -> None:
        """Nothing yet: the flow's trace records that the image got here."""

    def inspection_finished(self, inspection: Inspection) -> None:
        context = inspection.context
        self.worker.submit(self.payload(context))
        problem, self._reported_drops = self.worker.report(self._reported_drops)
        if problem:
            context["errors"].append(f"output '{self.name}': {problem}")

    def close(self) -> None:
        self.worker.close()
