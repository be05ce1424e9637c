"""Run a project's opened modules on one image and produce the finished context.

The runner is synchronous and knows nothing about HTTP or where the image came
from: :class:`~inspekt.inspection.Inspector` calls it for the API, the batch
command and any other front end.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ..context import finish_context, new_context
from ..modules import close_modules, open_modules, run_modules
from ..types import Closeable, Context, Image
from .project import Project

__all__ = ["FlowRunner"]


class FlowRunner(Closeable):
    """Holds an opened project and the state that lives as long as it runs (``globalData``).

    Creating a runner opens every module of the project (threads, child
    processes, model sessions); :meth:`close` — or leaving a ``with`` block —
    stops them again.
    """

    def __init__(self, project: Project) -> None:
        self.project = project
        self.global_data: dict[str, Any] = {}
        self._lock = threading.Lock()
        open_modules(project.modules)
        self._open = True

    def analyze(self, image: Image, data: str | None = None) -> Context:
        """Run the flow on one image; returns the context with the image it left."""
        started = time.perf_counter()
        context = new_context(image, data, self.global_data)
        # Modules keep state (globalData, models); one image at a time through them.
        with self._lock:
            run_modules(self.project.modules, context)
        finish_context(context, started)
        return context

    def close(self) -> None:
        """Flush and stop every module's background work (savers, outputs, code processes)."""
        if self._open:
            self._open = False
            close_modules(self.project.modules)
