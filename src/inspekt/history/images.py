"""An inspection's images as the history keeps them, and as it shows them.

Encoding costs more than the analysis it records (a 512x512 PNG: ~14 ms, the
analysis ~22 ms on the same two cores), so the history encodes as little as it can
and draws the rest when someone looks:

- ``input``: the bytes the camera sent, written as they came (JPEG, PNG, BMP,
  TIFF); raw and shared-memory frames, which come as pixels, as BMP (a header and
  the pixels: lossless, nothing to compress). It is what a review copies into the
  training data.
- ``flow``: the image the flow ended with, as JPEG, only when preprocessing made
  it differ from the input (crop, resize, ...); the annotated image is drawn on it.
- ``heat``: the heat (0..1) as an 8-bit gray JPEG, when a module made one.

The annotated image and PEKAT's heatmap are drawn from these on request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, cast

import cv2
import numpy as np

from ..errors import InspektError
from ..imaging.render import Annotation, annotated_image, heatmap_image
from ..types import HeatMap, Image
from .store import Record

__all__ = ["ShownKind", "encoded_suffix", "shown", "stored_images"]

#: What the history shows of an inspection.
ShownKind = Literal["input", "annotated", "heatmap"]

_MAGIC = ((b"\x89PNG", ".png"), (b"\xff\xd8", ".jpg"), (b"BM", ".bmp"),
          (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"))
_JPEG = [cv2.IMWRITE_JPEG_QUALITY, 90]


def encoded_suffix(data: bytes) -> str | None:
    """The file suffix of an encoded image's format; None for anything else."""
    return next((suffix for magic, suffix in _MAGIC if data.startswith(magic)), None)


def stored_images(
    folder: Path, stem: str, input_file: tuple[bytes, str] | None, input_image: Image | None,
    flow_image: Image | None, heat: HeatMap | None,
) -> tuple[dict[str, str], int]:
    """Write an inspection's images into ``folder`` (named ``stem_<kind>``): the input as
    ``input_file`` (the bytes as sent, and their suffix) when given, else
    ``input_image``'s pixels. Their paths by kind, relative to the folder's parent's
    parent (the history's), and their bytes."""
    files: dict[str, tuple[str, bytes]] = {}  # kind: suffix, bytes
    if input_file is not None:
        files["input"] = (input_file[1], input_file[0])
    elif input_image is not None:
        files["input"] = (".bmp", _encoded(".bmp", input_image, [], "input"))
    else:
        raise InspektError("an inspection to keep came with neither its bytes nor its pixels")
    if flow_image is not None:
        files["flow"] = (".jpg", _encoded(".jpg", flow_image, _JPEG, "flow"))
    if heat is not None:
        gray = (np.clip(heat, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        files["heat"] = (".jpg", _encoded(".jpg", gray, _JPEG, "heat"))
    paths, size = {}, 0
    for kind, (ext, data) in files.items():
        path = folder / f"{stem}_{kind}{ext}"
        path.write_bytes(data)
        paths[kind] = str(path.relative_to(folder.parent.parent))
        size += len(data)
    return paths, size


def _encoded(ext: str, picture: Image, flags: list[int], kind: str) -> bytes:
    ok, buffer = cv2.imencode(ext, picture, flags)
    if not ok:
        raise InspektError(f"cannot encode an inspection's {kind} image")
    return bytes(buffer.tobytes())


def shown(
    history_folder: Path, record: Record, kind: ShownKind, annotation: Annotation
) -> tuple[Path | bytes, str]:
    """A stored file (the input) or drawn JPEG bytes, and its media type."""
    if kind == "input":
        path = history_folder / record.images["input"]
        media = {".png": "image/png", ".jpg": "image/jpeg", ".bmp": "image/bmp",
                 ".tif": "image/tiff"}.get(path.suffix, "application/octet-stream")
        return path, media
    base = _read(history_folder / record.images.get("flow", record.images["input"]))
    heat: HeatMap | None = None
    if "heat" in record.images:
        gray = _read(history_folder / record.images["heat"], cv2.IMREAD_GRAYSCALE)
        height, width = base.shape[:2]
        if gray.shape[:2] != (height, width):
            gray = cast(Image, cv2.resize(gray, (width, height), interpolation=cv2.INTER_LINEAR))
        heat = cast(HeatMap, gray.astype(np.float32) / np.float32(255))
    if kind == "heatmap":
        picture = heatmap_image(base, heat)
    else:
        picture = annotated_image(
            base, heat, record.rectangles, banner=annotation.banner,
            result={"ok": True, "nok": False}.get(record.result), score=record.score,
        )
    return _encoded(".jpg", picture, _JPEG, kind), "image/jpeg"


def _read(path: Path, flags: int = cv2.IMREAD_COLOR) -> Image:
    picture = cv2.imread(str(path), flags)
    if picture is None:
        raise InspektError(f"{path}: the stored image cannot be read")
    return cast(Image, picture)
