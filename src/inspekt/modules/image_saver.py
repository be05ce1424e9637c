"""Image saver: keep inspected images on disk for review, by verdict.

The image is saved when the whole flow has finished (so ``when`` sees the
final verdict), for images that reached the saver's place in the flow.
Writing happens on a background thread, so a slow or full disk never delays
the answer; failures are counted and reported in the next contexts' ``errors``.
Retention keeps the folder under ``max_files`` and ``max_megabytes`` by deleting
the oldest images this module wrote (files matching its extension).

``pattern`` is a Python format string with ``{time}`` (a datetime, e.g.
``{time:%Y%m%d-%H%M%S}``), ``{counter}``, ``{result}`` (ok/nok/none), ``{module}``
and ``{data}`` (the request's data, made filename-safe).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Literal, NamedTuple

import cv2
import numpy as np
from pydantic import Field, field_validator

from ..errors import DeliveryError
from ..results import ImageKind, Inspection
from ..types import Context, Image
from ._background import BackgroundWorker
from .base import Module, ModuleEnv, ModuleOptions
from .registry import module_type

__all__ = ["ImageSaver", "ImageSaverOptions"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_VERDICT = {True: "ok", False: "nok", None: "none"}
#: The saver's ``image`` option as the kind of picture an inspection draws.
_IMAGE_KIND: dict[str, ImageKind] = {
    "flow": "image", "annotated": "annotated_image", "heatmap": "heatmap"
}


class ImageSaverOptions(ModuleOptions):
    type: Literal["image_saver@1"]
    folder: str = Field("saved", description="Folder, relative to the project or absolute.")
    when: Literal["ok", "nok", "all"] = Field("nok", description="Which verdicts to save.")
    image: Literal["input", "flow", "annotated", "heatmap"] = Field(
        "input",
        description="The image as received, as the flow left it, annotated, or the heatmap.",
    )
    format: Literal["png", "jpg"] = "png"
    pattern: str = Field("{time:%Y%m%d-%H%M%S}_{counter:06d}_{result}", description="File name.")
    max_files: int | None = Field(10_000, ge=1, description="Keep at most this many images.")
    max_megabytes: float | None = Field(None, gt=0, description="Keep the folder under this size.")
    backlog: int = Field(64, ge=1, le=10_000, description="Images waiting to be written, at most.")

    @field_validator("pattern")
    @classmethod
    def _formats(cls, pattern: str) -> str:
        try:
            name = pattern.format(time=datetime.now(), counter=1, result="ok", module="m", data="d")
        except (KeyError, ValueError, IndexError) as exc:
            raise ValueError(f"not a valid pattern: {exc}") from None
        if "/" in name or "\\" in name or not name.strip():
            raise ValueError("must give a plain file name (no folders)")
        return pattern


class _Job(NamedTuple):
    #: The frame as received (``image: input``), or the inspection to draw from.
    picture: Image | Inspection
    name: str


@module_type
class ImageSaver(Module):
    options_model = ImageSaverOptions
    options: ImageSaverOptions

    def __init__(self, options: ImageSaverOptions, env: ModuleEnv, index: int) -> None:
        super().__init__(options, env, index)
        self.folder = env.project_dir / options.folder
        self._counter = 0
        self._counter_lock = threading.Lock()
        self._reported_drops = 0
        self._kept: deque[tuple[Path, int]] | None = None
        self.worker: BackgroundWorker[_Job] = BackgroundWorker(
            f"image_saver:{self.name}", self._write, capacity=options.backlog, retry=False
        )

    def open(self) -> None:
        self.worker.start()

    def run(self, context: Context) -> None:
        """Nothing yet: the image is saved once the flow finished, with its final verdict."""

    def inspection_finished(self, inspection: Inspection) -> None:
        context = inspection.context
        verdict = context.get("result")
        if self.options.when == "all" or _VERDICT.get(verdict) == self.options.when:
            self.worker.submit(self._job(inspection))
        problem, self._reported_drops = self.worker.report(self._reported_drops)
        if problem:
            context["errors"].append(f"image saver '{self.name}': {problem}")

    def close(self) -> None:
        self.worker.close()

    def _job(self, inspection: Inspection) -> _Job:
        context = inspection.context
        with self._counter_lock:
            self._counter += 1
            counter = self._counter
        data = _UNSAFE.sub("_", str(context.get("data") or ""))[:64]
        name = self.options.pattern.format(
            time=datetime.now(),
            counter=counter,
            result=_VERDICT.get(context.get("result"), "none"),
            module=self.name,
            data=data,
        )
        if self.options.image == "input":  # copied: the frame may be a client's shared memory
            return _Job(np.array(context["input_image"], copy=True), name)
        return _Job(inspection.detached(), name)

    def _write(self, job: _Job) -> None:
        if isinstance(job.picture, Inspection):
            kind = _IMAGE_KIND[self.options.image]
            picture = job.picture.image(kind)
        else:
            picture = job.picture
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{job.name}.{self.options.format}"
        ok, encoded = cv2.imencode(f".{self.options.format}", picture)
        if not ok:
            raise DeliveryError(f"cannot encode {path.name}")
        temporary = path.with_name(f".{path.name}.tmp")
        try:
            temporary.write_bytes(encoded.tobytes())
            temporary.replace(path)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise
        self._retain(path, len(encoded))

    def _retain(self, path: Path, size: int) -> None:
        if self._kept is None:  # first write: learn what an earlier run left here
            existing = sorted(
                self.folder.glob(f"*.{self.options.format}"), key=lambda p: p.stat().st_mtime
            )
            self._kept = deque((p, p.stat().st_size) for p in existing if p != path)
        self._kept.append((path, size))
        max_megabytes = self.options.max_megabytes
        max_bytes = None if max_megabytes is None else max_megabytes * 2**20
        total = sum(s for _, s in self._kept)
        while self._kept and (
            (self.options.max_files is not None and len(self._kept) > self.options.max_files)
            or (max_bytes is not None and total > max_bytes and len(self._kept) > 1)
        ):
            oldest, oldest_size = self._kept.popleft()
            oldest.unlink(missing_ok=True)
            total -= oldest_size
