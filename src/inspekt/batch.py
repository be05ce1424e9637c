"""Offline batch analysis: run the flow on files and folders without a server."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import cv2

from .context import context_to_json
from .errors import ImageError
from .imaging.io import IMAGE_SUFFIXES, read_image_file
from .inspection import InspectionOptions, Inspector

__all__ = ["CSV_COLUMNS", "BatchRow", "collect_images", "run_batch"]

CSV_COLUMNS = ("file", "result", "score", "ms", "n_rectangles")
Format = Literal["csv", "jsonl"]


@dataclass(frozen=True)
class BatchRow:
    file: str
    result: bool | None
    score: float | None
    ms: float
    n_rectangles: int
    context_json: bytes | None
    error: str | None = None

    def as_jsonl(self) -> str:
        record: dict[str, Any] = {
            "file": self.file, "result": self.result, "score": self.score, "ms": round(self.ms, 3),
            "n_rectangles": self.n_rectangles,
        }
        if self.error is not None:
            record["error"] = self.error
        context = "null" if self.context_json is None else self.context_json.decode("utf-8")
        return json.dumps(record)[:-1] + f', "context": {context}}}'

    def as_csv(self) -> str:
        buffer = io.StringIO()
        result = "error" if self.error else {True: "ok", False: "nok", None: ""}[self.result]
        score = "" if self.score is None else f"{self.score:.6g}"
        csv.writer(buffer, lineterminator="\n").writerow(
            [self.file, result, score, f"{self.ms:.3f}", self.n_rectangles]
        )
        return buffer.getvalue()


def collect_images(paths: list[Path]) -> list[Path]:
    """Image files given directly, plus every image under given folders (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ImageError(f"{path}: no such file or folder")
    return found


def run_batch(
    inspector: Inspector, files: list[Path], out: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[BatchRow]:
    """Analyse each file; a file that cannot be read gives a row with its error."""
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    for done, path in enumerate(files, 1):
        yield _analyze_one(inspector, path, out)
        if progress:
            progress(done)


def _analyze_one(inspector: Inspector, path: Path, out: Path | None) -> BatchRow:
    started = time.perf_counter()
    try:
        inspection = inspector.inspect(
            partial(read_image_file, path), InspectionOptions(data=path.name)
        )
    except ImageError as exc:
        return BatchRow(str(path), None, None, 0.0, 0, None, exc.message)
    ms = (time.perf_counter() - started) * 1000 - inspection.load_ms
    context = inspection.context
    rectangles = context.get("detectedRectangles") or []
    if out is not None:
        cv2.imwrite(str(out / f"{path.stem}_annotated.png"), inspection.image("annotated_image"))
    score = context.get("score")
    return BatchRow(
        str(path), inspection.result, None if score is None else float(score), ms,
        len(rectangles), context_to_json(context),
    )
