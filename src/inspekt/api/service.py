"""Runs inspections off the event loop and remembers the last image.

All CPU work for a request — decoding, the flow, rendering, PNG and JSON
encoding — happens on a small, fixed pool of worker threads, so the event loop
keeps answering ``/ping`` while a model runs and extra requests queue instead
of piling up threads.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from ..errors import OverloadedError
from ..history import HistoryRecorder
from ..imaging.io import encode_png
from ..inspection import ImageSource, InspectionOptions, Inspector, LastImage
from .live import LiveFeed
from .metrics import Metrics
from .params import AnalyzeParams
from .responses import Answer, build_answer
from .settings import ServerSettings

__all__ = ["InspectionService"]


class InspectionService:
    """The API's side of the inspection seam: admission, worker threads, encoding the answer."""

    def __init__(
        self, inspector: Inspector, settings: ServerSettings,
        history: HistoryRecorder | None = None, load_seconds: float = 0.0,
    ) -> None:
        self.inspector = inspector
        self.settings = settings
        #: The project's inspection history (subscribed by whoever made it); None: off.
        self.history = history
        self.live = LiveFeed()
        self.metrics = Metrics(history, load_seconds)
        inspector.subscribe(self.live)
        inspector.subscribe(self.metrics)
        self._executor = ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="inspekt-analyze"
        )
        self._last = LastImage()
        inspector.subscribe(self._last)
        self._admitted = 0  # only touched on the event loop: no lock needed

    async def inspect(
        self, source: ImageSource, params: AnalyzeParams, endpoint: str = "",
        encoded: bytes | None = None,
    ) -> Answer:
        """Decode, analyse and encode on a worker thread; refuse when the queue is full."""
        if self._admitted >= self.settings.max_queue:
            raise OverloadedError(
                f"{self._admitted} analyses already running or waiting (limit "
                f"{self.settings.max_queue}); retry shortly"
            )
        self._admitted += 1
        self.metrics.queue_depth.inc()
        try:
            loop = asyncio.get_running_loop()
            options = InspectionOptions(data=params.data, endpoint=endpoint, encoded=encoded)
            return await loop.run_in_executor(
                self._executor, self._inspect, source, params, options
            )
        finally:
            self._admitted -= 1
            self.metrics.queue_depth.dec()

    def _inspect(
        self, source: ImageSource, params: AnalyzeParams, options: InspectionOptions
    ) -> Answer:
        inspection = self.inspector.inspect(source, options)
        return build_answer(inspection, params.response_type, params.context_in_body)

    async def last_image_png(self) -> bytes | None:
        """The image the last analysis ended with, as PNG (None before the first)."""
        image = self._last.image
        if image is None:
            return None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, encode_png, image)

    def close(self) -> None:
        """Let in-flight analyses finish, then stop the workers."""
        self._executor.shutdown(wait=True)
