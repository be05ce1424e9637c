"""Records every inspection into the history, off the inspecting thread.

The recorder is an inspection subscriber: on the inspecting thread it only copies
what it needs and queues it (microseconds); one writer thread stores the record,
encodes and writes the images, and prunes by age, count and size now and then. So
writing history never slows an analysis, and a history that cannot be written (a
full or read-only disk, a queue that overflowed) never fails one: the reason is
added to the next inspections' ``errors`` and to ``/health/ready`` until a write
succeeds again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import queue
import random
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import orjson

from ..context import context_to_json
from ..errors import InspektError
from ..flow import Project
from ..models.storage import MANIFEST
from ..modules import TrainableModule
from ..results import Inspection
from ..types import Closeable, HeatMap, Image
from .images import encoded_suffix, stored_images
from .store import HistoryStore, Record

__all__ = ["HISTORY_DIR", "HistoryRecorder", "HistorySettings", "history_store"]

log = logging.getLogger(__name__)

#: The history's folder, inside the project.
HISTORY_DIR = Path(".inspekt") / "history"
DATABASE = "history.sqlite"
#: The writer thread's niceness: it runs in the analyses' gaps.
_WRITER_NICENESS = 10
#: Pruning runs after this many records (and at start).
_PRUNE_EVERY = 200


@dataclass(frozen=True)
class HistorySettings:
    """What is recorded and for how long."""

    enabled: bool = True
    #: Share of OK inspections whose images are kept too (NOK and error ones always).
    ok_images: float = 0.0
    #: Records older than this are removed (reviewed ones stay); None keeps them.
    max_age_days: float | None = 30.0
    #: At most this many records are kept, the newest; None: no limit.
    max_count: int | None = 100_000
    #: The images take at most this many MB, the oldest removed first; None: no limit.
    max_mb: float | None = 2048.0
    #: Inspections waiting to be written; beyond it new ones are not recorded.
    queue: int = 256


def history_store(project_dir: Path) -> HistoryStore:
    """The project's history database (created empty when there is none)."""
    return HistoryStore(project_dir / HISTORY_DIR / DATABASE)


#: What the writer thread is told besides records: prune now, or stop.
_Command = Literal["prune", "stop"]


@dataclass(frozen=True)
class _Pending:
    """What the writer needs of one inspection, copied on the inspecting thread (see
    :mod:`inspekt.history.images` for what is kept of each image)."""

    record: Record
    #: The bytes as sent and their file suffix, when they are a format the history knows.
    input_file: tuple[bytes, str] | None = None
    input_image: Image | None = None  # else the pixels (raw, shared memory)
    flow_image: Image | None = None  # when preprocessing made it differ from the input
    heat: HeatMap | None = None

    @property
    def keeps_images(self) -> bool:
        return self.input_file is not None or self.input_image is not None


class HistoryRecorder(Closeable):
    """Subscriber that records every inspection of one project."""

    def __init__(self, project: Project, settings: HistorySettings) -> None:
        self.settings = settings
        self.folder = project.path / HISTORY_DIR
        self.store = HistoryStore(self.folder / DATABASE)
        self._models = _model_versions(project)
        self._queue: queue.Queue[_Pending | _Command] = queue.Queue(maxsize=settings.queue)
        #: Why the last write failed; None while writing works.
        self.problem: str | None = None
        self.failures = 0
        self._counters: list[Callable[[], None]] = []
        self._written = 0
        self._random = random.Random(0)
        self._thread = threading.Thread(target=self._write_loop, name="inspekt-history",
                                        daemon=True)
        self._thread.start()
        self._queue.put_nowait("prune")  # once at start

    # ---- on the inspecting thread ----------------------------------------------------------

    def __call__(self, inspection: Inspection) -> None:
        if self.problem is not None:
            inspection.context.setdefault("errors", []).append(
                f"history: the last write failed: {self.problem}"
            )
        record = self._record(inspection)
        pending = _Pending(record)
        if record.result != "ok" or self._random.random() < self.settings.ok_images:
            context = inspection.context
            given, flow, heat = context["input_image"], context["image"], context.get("heatmap")
            encoded = inspection.encoded
            suffix = None if encoded is None else encoded_suffix(encoded)
            # copied: the frame may be a client's shared memory, the heat a module's
            # buffer; an encoding the history does not know is kept as pixels
            pending = _Pending(
                record,
                None if encoded is None or suffix is None else (encoded, suffix),
                None if suffix is not None else np.array(given, copy=True),
                None if flow is given else np.array(flow, copy=True),
                None if heat is None else np.array(heat, copy=True),
            )
        try:
            self._queue.put_nowait(pending)
        except queue.Full:
            self._failed(f"{self.settings.queue} inspections already wait to be written")

    def _record(self, inspection: Inspection) -> Record:
        context = inspection.context
        verdict = inspection.verdict
        errors = [str(e) for e in context.get("errors") or []]
        return Record(
            time=inspection.finished_at,
            result=verdict,
            error="; ".join(errors) if verdict == "error" else None,
            score=_number(context.get("score")),
            threshold=_number(context.get("threshold")),
            rectangles=[dict(r) for r in context.get("detectedRectangles") or []],
            module_ms={name: round(ms, 3) for name, ms in inspection.module_ms.items()},
            total_ms=round(inspection.load_ms + inspection.flow_ms, 3),
            data=context.get("data") or None,
            endpoint=inspection.endpoint,
            models=self._models,
            context=orjson.loads(context_to_json(context)),
        )

    def count_failures(self, counter: Callable[[], None]) -> None:
        """Call ``counter`` at every failed write (the metrics count them)."""
        self._counters.append(counter)

    def _failed(self, problem: str) -> None:
        self.failures += 1
        for counter in self._counters:
            counter()
        if self.problem != problem:
            log.warning("history: %s", problem)
        self.problem = problem

    # ---- on the writer thread --------------------------------------------------------------

    def _write_loop(self) -> None:
        try:  # on Linux a thread has its own priority: analyses come first
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _WRITER_NICENESS)
        except (AttributeError, OSError):
            pass  # elsewhere the writer shares the CPU evenly
        while True:
            pending = self._queue.get()
            try:
                if pending == "stop":
                    return
                if pending == "prune":
                    self._prune()
                else:
                    self._write(pending)
            except (OSError, InspektError, ValueError, cv2.error) as exc:
                self._failed(str(exc))
            except Exception as exc:  # never let the thread die: the line keeps going
                log.exception("history: writing failed")
                self._failed(f"{type(exc).__name__}: {exc}")
            finally:
                self._queue.task_done()

    def _write(self, pending: _Pending) -> None:
        # images first, so a record is whole from the moment it can be read
        images: dict[str, str] = {}
        size = 0
        if pending.keeps_images:
            when = time.localtime(pending.record.time)
            folder = self.folder / "images" / time.strftime("%Y%m%d", when)
            folder.mkdir(parents=True, exist_ok=True)
            stem = time.strftime("%H%M%S_", when) + uuid.uuid4().hex[:12]  # before any id
            images, size = stored_images(
                folder, stem, pending.input_file, pending.input_image, pending.flow_image,
                pending.heat,
            )
        self.store.add(dataclasses.replace(pending.record, images=images), size)
        self.problem = None
        self._written += 1
        if self._written % _PRUNE_EVERY == 0:
            self._prune()

    def _prune(self) -> None:
        s = self.settings
        before = None if s.max_age_days is None else time.time() - s.max_age_days * 86400
        max_bytes = None if s.max_mb is None else int(s.max_mb * 1024 * 1024)
        for record in self.store.prune(before, s.max_count, max_bytes):
            for relative in record.images.values():
                (self.folder / relative).unlink(missing_ok=True)
        images = self.folder / "images"
        if images.is_dir():
            for day in images.iterdir():
                if day.is_dir() and not any(day.iterdir()):
                    shutil.rmtree(day, ignore_errors=True)

    # ---- state -----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether the history is being written (no write failed since the last success)."""
        return self.problem is None and self._thread.is_alive()

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued inspection is written (tests, stopping)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        """Write what is queued, then stop the writer and close the database."""
        self.flush()
        self._queue.put("stop")
        self._thread.join(timeout=10)
        self.store.close()


def _model_versions(project: Project) -> dict[str, str]:
    """Each trainable module's model, as the digest of its manifest (``-`` untrained)."""
    versions = {}
    for module in project.walk():
        if isinstance(module, TrainableModule):
            manifest = module.model_dir / MANIFEST
            try:
                versions[module.name] = hashlib.sha256(manifest.read_bytes()).hexdigest()[:12]
            except OSError:
                versions[module.name] = "-"
    return versions


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

