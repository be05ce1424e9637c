"""Runs inspections off the event loop and remembers the last image.

All CPU work for a request — decoding, the flow, rendering, PNG and JSON
encoding — happens on a small, fixed pool of worker threads, so the event loop
keeps answering ``/ping`` while a model runs and extra requests queue instead
of piling up threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..errors import OverloadedError
from ..flow import FlowRunner
from ..imageio import encode_png
from ..types import Image
from .params import AnalyzeParams
from .responses import Answer, build_answer
from .settings import ServerSettings

__all__ = ["InspectionService"]


class InspectionService:
    def __init__(self, runner: FlowRunner, settings: ServerSettings) -> None:
        self.runner = runner
        self.settings = settings
        self._executor = ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="inspekt-analyze"
        )
        self._last_image: Image | None = None
        self._admitted = 0  # only touched on the event loop: no lock needed

    async def inspect(self, load_image: Callable[[], Image], params: AnalyzeParams) -> Answer:
        """Decode, analyse and encode on a worker thread; refuse when the queue is full."""
        if self._admitted >= self.settings.max_queue:
            raise OverloadedError(
                f"{self._admitted} analyses already running or waiting (limit "
                f"{self.settings.max_queue}); retry shortly"
            )
        self._admitted += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self._inspect, load_image, params)
        finally:
            self._admitted -= 1

    def _inspect(self, load_image: Callable[[], Image], params: AnalyzeParams) -> Answer:
        image = load_image()
        context = self.runner.analyze(image, params.data)
        self._last_image = context["image"]
        return build_answer(context, params.response_type, params.context_in_body)

    async def last_image_png(self) -> bytes | None:
        """The image the last analysis ended with, as PNG (None before the first)."""
        image = self._last_image
        if image is None:
            return None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, encode_png, image)

    def close(self) -> None:
        """Let in-flight analyses finish, then stop the workers."""
        self._executor.shutdown(wait=True)
