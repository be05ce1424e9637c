"""Offline batch analysis: run the flow on files and folders without a server.

Annotated images (``--out``) mirror where each input was found, so no two
inputs share an output: ``OUT/<path under its folder argument>.annotated.png``
(a file given directly uses its name), keeping the input's suffix so ``x.jpg``
and ``x.png`` stay apart. Inputs that still land on the same name in one run
(the same relative path under two folder arguments) are numbered
``.annotated-2.png``, ``-3``...; files left by an earlier run are replaced.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePath
from typing import Any, Literal

from .context import context_to_json
from .errors import ImageError
from .imaging.io import IMAGE_SUFFIXES, encode_png, read_image_file
from .inspection import InspectionOptions, Inspector

__all__ = ["CSV_COLUMNS", "BatchRow", "ImageFile", "collect_images", "run_batch"]

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


@dataclass(frozen=True)
class ImageFile:
    """An input image and where it sits under the argument it was found by.

    ``relative`` is its path below the folder argument, or its name when the file
    was given directly; annotated images are written at that place under ``--out``.
    """

    path: Path
    relative: PurePath


def collect_images(paths: list[Path]) -> list[ImageFile]:
    """Image files given directly, plus every image under given folders (sorted)."""
    found: list[ImageFile] = []
    for path in paths:
        if path.is_dir():
            found += [
                ImageFile(p, p.relative_to(path))
                for p in sorted(path.rglob("*"))
                if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            ]
        elif path.is_file():
            found.append(ImageFile(path, PurePath(path.name)))
        else:
            raise ImageError(f"{path}: no such file or folder")
    return found


def run_batch(
    inspector: Inspector, files: list[ImageFile], out: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[BatchRow]:
    """Analyse each file; a file that cannot be read gives a row with its error.

    With ``out``, each annotated image is written under it (see the module's
    docstring for the names); a write that fails raises ``OSError``.
    """
    targets = _Targets(out) if out is not None else None
    for done, file in enumerate(files, 1):
        yield _analyze_one(inspector, file, targets)
        if progress:
            progress(done)


class _Targets:
    """Output paths for annotated images, never the same one twice in a run."""

    def __init__(self, out: Path) -> None:
        self.out = out
        # Case-folded, since on Windows and macOS X.jpg and x.jpg are the same file.
        self.used: set[str] = set()

    def claim(self, relative: PurePath) -> Path:
        folder = self.out / relative.parent
        name, number = f"{relative.name}.annotated.png", 1
        while str(folder / name).casefold() in self.used:
            number += 1
            name = f"{relative.name}.annotated-{number}.png"
        self.used.add(str(folder / name).casefold())
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name


def _analyze_one(inspector: Inspector, file: ImageFile, targets: _Targets | None) -> BatchRow:
    path = file.path
    started = time.perf_counter()
    try:
        inspection = inspector.inspect(
            partial(read_image_file, path), InspectionOptions(data=path.name, endpoint="analyze")
        )
    except ImageError as exc:
        return BatchRow(str(path), None, None, 0.0, 0, None, exc.message)
    ms = (time.perf_counter() - started) * 1000 - inspection.load_ms
    context = inspection.context
    rectangles = context.get("detectedRectangles") or []
    if targets is not None:
        targets.claim(file.relative).write_bytes(encode_png(inspection.image("annotated_image")))
    score = context.get("score")
    return BatchRow(
        str(path), inspection.result, None if score is None else float(score), ms,
        len(rectangles), context_to_json(context),
    )
