"""The inspection seam: an image source and request options in, a finished inspection out.

Every front end — the HTTP API, ``inspekt analyze``, a serving replica — calls
:meth:`Inspector.inspect`; none of them runs the flow itself. Subscribers
receive every finished :class:`~inspekt.results.Inspection` through one hook:
first the flow's own output modules (webhooks, savers; only for images that
reached them), then whatever the front end added (the last image, history,
metrics). A subscriber that fails is logged and never costs the line its
answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .flow import FlowRunner, Project
from .modules import Module
from .results import Inspection
from .types import Closeable, Image

__all__ = [
    "ImageSource", "InspectionOptions", "Inspector", "LastImage", "Subscriber", "notify",
]

log = logging.getLogger(__name__)

#: Produces the pixels on the inspecting thread (decoding is part of the work).
ImageSource = Callable[[], Image]
#: Called with every finished inspection, on the inspecting thread; must be quick.
Subscriber = Callable[[Inspection], None]


@dataclass(frozen=True)
class InspectionOptions:
    """What a request may say about how to inspect an image."""

    #: Passed to the flow as ``context['data']`` (PEKAT's ``data`` parameter).
    data: str | None = None
    #: Where the image came from (the API route), kept with the inspection.
    endpoint: str = ""
    #: The image's bytes as sent, when it came encoded: the history keeps them as they are.
    encoded: bytes | None = None
    #: Whether the front end needs the pictures of an OK inspection (the history samples
    #: OK images, a dashboard is watching). False lets a replica elsewhere send back
    #: none for an OK image; a local inspector always has them at hand.
    pictures: bool = True


class Inspector(Closeable):
    """Runs inspections for one opened project and tells subscribers about each."""

    def __init__(self, project: Project) -> None:
        self.runner = FlowRunner(project)
        #: Modules that act on finished inspections (outputs, savers), told only of
        #: images that reached them; then the front end's subscribers, told of all.
        self._finishing = [m for m in project.walk() if _overrides_finished(m)]
        self._subscribers: list[Subscriber] = []

    @property
    def project(self) -> Project:
        return self.runner.project

    def subscribe(self, subscriber: Subscriber) -> None:
        """Receive every finished inspection from now on."""
        self._subscribers.append(subscriber)

    def inspect(
        self, source: ImageSource, options: InspectionOptions = InspectionOptions()
    ) -> Inspection:
        """Load the image, run the flow, notify subscribers; errors loading the image propagate."""
        started = time.perf_counter()
        image = source()
        load_ms = (time.perf_counter() - started) * 1000
        context = self.runner.analyze(image, options.data)
        inspection = Inspection(
            context, load_ms=load_ms, annotation=self.project.annotation,
            endpoint=options.endpoint, encoded=options.encoded,
        )
        ran = set(inspection.modules_run)  # a gate, an exit or a failure keeps images from some
        reached = [m.inspection_finished for m in self._finishing if m.name in ran]
        notify([*reached, *self._subscribers], inspection)
        return inspection

    def close(self) -> None:
        """Close the project's modules (flushing outputs and savers)."""
        self.runner.close()


class LastImage:
    """Subscriber that keeps the image the last inspection ended with (``/last_image``)."""

    def __init__(self) -> None:
        self.image: Image | None = None

    def __call__(self, inspection: Inspection) -> None:
        self.image = inspection.context["image"]


def notify(subscribers: Iterable[Subscriber], inspection: Inspection) -> None:
    """Tell each subscriber of a finished inspection, in order."""
    for subscriber in subscribers:
        try:
            subscriber(inspection)
        except Exception:  # a broken recorder must not cost the line its answer
            log.exception("inspection subscriber %r failed", subscriber)


def _overrides_finished(module: Module) -> bool:
    return type(module).inspection_finished is not Module.inspection_finished
