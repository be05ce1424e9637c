"""Run a project's modules on one image and produce the finished context.

The runner is synchronous and knows nothing about HTTP: the API calls it from
a worker thread, the batch CLI calls it directly, and a serving replica could
hold one. Each finished inspection is handed to the registered hooks (history,
metrics) after the flow ran.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..modules import Module
from ..types import Context, Image
from .context import finish_context, new_context
from .project import Project

__all__ = ["FlowRunner", "InspectionHook", "close_modules", "run_modules"]

log = logging.getLogger(__name__)

#: Called with every finished context, on the analysing thread; must be quick.
InspectionHook = Callable[[Context], None]


def run_modules(modules: Sequence[Module], context: Context) -> None:
    """Run modules in order until one sets ``context['exit']``.

    A module that fails (not user code, which reports its own errors) marks the
    context as errored and stops the branch: later modules would see a
    half-done context.
    """
    for module in modules:
        if context.get("exit") or context["error"]:
            return
        try:
            module.run(context)
        except Exception as exc:
            log.exception("module %s failed", module.name)
            message = f"module '{module.name}' failed: {type(exc).__name__}: {exc}"
            context["errors"].append(message)
            context["error"] = message
            return


def close_modules(modules: Sequence[Module]) -> None:
    """Close every module, logging (not raising) failures so all get closed."""
    for module in modules:
        try:
            module.close()
        except Exception:
            log.exception("closing module %s failed", module.name)


class FlowRunner:
    """Holds a loaded project and the state that lives as long as the server."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.global_data: dict[str, Any] = {}
        self._hooks: list[InspectionHook] = []
        self._lock = threading.Lock()

    def add_hook(self, hook: InspectionHook) -> None:
        """Register a callable to receive every finished context."""
        self._hooks.append(hook)

    def analyze(self, image: Image, data: str | None = None) -> Context:
        """Run the flow on one image; returns the context with the image it left."""
        started = time.perf_counter()
        context = new_context(image, data, self.global_data)
        # Modules keep state (globalData, models); one image at a time through them.
        with self._lock:
            run_modules(self.project.modules, context)
        finish_context(context, started)
        for hook in self._hooks:
            try:
                hook(context)
            except Exception:  # a broken recorder must not cost the line its answer
                log.exception("inspection hook %r failed", hook)
        return context

    def close(self) -> None:
        """Flush and stop every module's background work (savers, outputs)."""
        close_modules(self.project.modules)
