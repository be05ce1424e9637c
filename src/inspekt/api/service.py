"""Runs inspections off the event loop and remembers the last image.

All CPU work for a request — decoding, the flow, rendering, PNG and JSON
encoding — happens on a small, fixed pool of worker threads, so the event loop
keeps answering ``/ping`` while a model runs and extra requests queue instead
of piling up threads.

Where the flow itself runs is the service's :class:`InspectionBackend`: this
process's :class:`~inspekt.inspection.Inspector` (:class:`LocalBackend`), or
replicas on other machines that answer through the same seam.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from ..errors import OverloadedError
from ..flow import Project
from ..history import HistoryRecorder
from ..imaging.io import encode_png
from ..inspection import ImageSource, InspectionOptions, Inspector, LastImage, Subscriber
from ..types import Image
from .live import LiveFeed
from .metrics import Metrics
from .params import AnalyzeParams
from .responses import Answer, build_answer
from .settings import ServerSettings

__all__ = ["InspectionBackend", "InspectionService", "LocalBackend"]


class InspectionBackend(Protocol):
    """Where the flow runs for the API, and who hears of each finished inspection."""

    @property
    def project(self) -> Project: ...

    #: Whether it can read a frame from this machine's shared memory.
    reads_shared_memory: bool

    def subscribe(self, subscriber: Subscriber) -> None: ...

    def last_image(self) -> Image | None:
        """The image the last analysis ended with (blocking: a worker thread)."""
        ...

    def answer(
        self, source: ImageSource, options: InspectionOptions, params: AnalyzeParams
    ) -> Answer:
        """Inspect one image and encode what ``params`` asks for (blocking: a worker thread)."""
        ...

    def close(self) -> None:
        """Stop running flows (after the service let in-flight analyses finish)."""
        ...


class LocalBackend:
    """The flow in this process: the inspector runs it, the answer is encoded here."""

    reads_shared_memory = True

    def __init__(self, inspector: Inspector) -> None:
        self.inspector = inspector
        self._last = LastImage()
        inspector.subscribe(self._last)

    @property
    def project(self) -> Project:
        return self.inspector.project

    def subscribe(self, subscriber: Subscriber) -> None:
        self.inspector.subscribe(subscriber)

    def last_image(self) -> Image | None:
        return self._last.image

    def answer(
        self, source: ImageSource, options: InspectionOptions, params: AnalyzeParams
    ) -> Answer:
        inspection = self.inspector.inspect(source, options)
        return build_answer(inspection, params.response_type, params.context_in_body)

    def close(self) -> None:
        self.inspector.close()


class InspectionService:
    """The API's side of the inspection seam: admission, worker threads, encoding the answer."""

    def __init__(
        self, backend: InspectionBackend, settings: ServerSettings,
        history: HistoryRecorder | None = None, load_seconds: float = 0.0,
    ) -> None:
        self.backend = backend
        self.settings = settings
        #: The project's inspection history (subscribed by whoever made it); None: off.
        self.history = history
        self.live = LiveFeed()
        self.metrics = Metrics(history, load_seconds)
        backend.subscribe(self.live)
        backend.subscribe(self.metrics)
        self._executor = ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="inspekt-analyze"
        )
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
            options = InspectionOptions(
                data=params.data, endpoint=endpoint, encoded=encoded,
                pictures=self.live.watched or (
                    self.history is not None and self.history.settings.ok_images > 0
                ),
            )
            return await loop.run_in_executor(
                self._executor, self.backend.answer, source, options, params
            )
        finally:
            self._admitted -= 1
            self.metrics.queue_depth.dec()

    async def last_image_png(self) -> bytes | None:
        """The image the last analysis ended with, as PNG (None before the first)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._last_image_png)

    def _last_image_png(self) -> bytes | None:
        image = self.backend.last_image()
        return None if image is None else encode_png(image)

    def close(self) -> None:
        """Let in-flight analyses finish, then stop the workers."""
        self._executor.shutdown(wait=True)
